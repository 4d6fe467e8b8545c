/** Checkpoints in a worker thread on a real SQLite file: records stay readable and the WAL stays bounded. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionStore } from './store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes whole sessions (open, reading, close) for `ms`, yielding to the event loop between small batches. */
async function writeSessionsFor(store: SessionStore, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++, n++) {
      const sid = `sid-${n}`;
      store.open({
        sid,
        pid: `P${n % 50}`,
        connector: 1,
        vid: `V${n % 7}`,
        tid: 'T'.repeat(22),
        sk: new Uint8Array(32).fill(n % 256),
        maxWh: null,
        maxW: 22_000,
        pricePerKWh: '0.39',
        currency: 'EUR',
        startedAt: n,
      });
      store.recordMeter(sid, 1, 0, 0, n);
      store.closeSession(sid, 'vehicle-stop', n + 1, 0, `{"receipt":${n}}`, 1);
    }
    await yieldToLoop();
  }
  return n;
}

async function walAfterWriting(rewindAtFrames: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-wal-'));
  dirs.push(dir);
  const store = new SessionStore(dir, { checkpoints: { intervalMs: 20, rewindAtFrames } });
  const written = await writeSessionsFor(store, 1500);
  const walBytes = fs.statSync(path.join(dir, 'sessions.db-wal')).size;
  const stats = { ...store.checkpointer!.stats };
  // Every record is there for another reader, before and after the store closes.
  const reader = new Database(path.join(dir, 'sessions.db'), { readonly: true });
  const open = reader.prepare("SELECT count(*) AS n FROM sessions WHERE state = 'open'").get() as {
    n: number;
  };
  const all = reader.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number };
  reader.close();
  store.closeDatabase();
  return { written, walBytes, stats, open: open.n, all: all.n };
}

describe('WAL checkpoints in a worker thread', () => {
  it('keep the WAL bounded under constant writes, and every record readable', async () => {
    const run = await walAfterWriting(300);
    expect(run.written).toBeGreaterThan(2000);
    expect(run.all).toBe(run.written);
    expect(run.open).toBe(0);
    expect(run.stats.checkpoints).toBeGreaterThan(5);
    expect(run.stats.failures).toBe(0);
    // Rewinds happened on the writer's connection, so the log started over instead of growing.
    expect(run.stats.rewinds).toBeGreaterThan(0);
    // Without the rewind the same writes leave a WAL many times longer.
    const unbounded = await walAfterWriting(Number.POSITIVE_INFINITY);
    expect(unbounded.stats.rewinds).toBe(0);
    expect(unbounded.walBytes).toBeGreaterThan(run.walBytes * 3);
  }, 20_000);

  it('with sqliteSync "full" SQLite checkpoints as usual and no worker runs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-wal-'));
    dirs.push(dir);
    const store = new SessionStore(dir, { sync: 'full' });
    expect(store.checkpointer).toBeUndefined();
    store.closeDatabase();
  });
});
