/** The batched log (the gateway's) gathers info lines into few writes, and still gets every line out promptly. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchedLog } from './logger.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function logFile(flushEveryMs: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-log-'));
  const file = path.join(dir, 'log.jsonl');
  const fd = fs.openSync(file, 'a');
  const log = createBatchedLog('pile-gateway', 'info', { fd, flushEveryMs });
  cleanups.push(() => {
    log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const lines = () =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; level: number });
  return { log, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway log', () => {
  it('gathers info lines and writes them out within the flush interval', async () => {
    const { log, lines } = logFile(100);
    for (let i = 0; i < 5; i++) log.logger.info({ i }, 'session started');
    await sleep(20);
    expect(lines()).toHaveLength(0);
    await sleep(250);
    expect(lines().map((l) => l.msg)).toEqual(Array(5).fill('session started'));
  });

  it('writes warnings at once, with the info lines gathered before them', async () => {
    const { log, lines } = logFile(60_000);
    log.logger.info('session started');
    log.logger.warn('disconnected from broker; reconnecting');
    await sleep(50);
    expect(lines().map((l) => l.msg)).toEqual(['session started', 'disconnected from broker; reconnecting']);
  });

  it('flush() writes a milestone out at once', async () => {
    const { log, lines } = logFile(60_000);
    log.logger.info('serving piles');
    log.flush();
    await sleep(50);
    expect(lines().map((l) => l.msg)).toEqual(['serving piles']);
  });

  it('under load writes by size, without waiting for the timer', async () => {
    const { log, lines } = logFile(60_000);
    for (let i = 0; i < 10; i++) log.logger.info({ sid: `s${i}` }, 'session ended');
    await sleep(30);
    expect(lines()).toHaveLength(0); // ~1.5 KB: below one write
    for (let i = 10; i < 200; i++) log.logger.info({ sid: `s${i}` }, 'session ended');
    await sleep(50);
    // whole writes of at least 4 KiB went out; only the tail below that waits (for the timer or a flush)
    const written = lines().length;
    expect(written).toBeGreaterThan(150);
    expect(written).toBeLessThan(200);
    log.flush();
    await sleep(50);
    expect(lines()).toHaveLength(200);
  });
});

describe('gateway log, a flush during a write', () => {
  it('still writes out the line asked for', async () => {
    const { log, lines } = logFile(60_000);
    log.logger.info('gateway started');
    log.logger.warn('closed session left open by a restart'); // starts a write
    log.logger.info('serving piles'); // gathered while that write is in progress
    log.flush();
    await sleep(100);
    expect(lines().map((l) => l.msg)).toEqual([
      'gateway started',
      'closed session left open by a restart',
      'serving piles',
    ]);
  });
});
