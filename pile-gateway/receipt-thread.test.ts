/** The receipt-signing thread: a real worker thread makes live sessions' receipts; without it nothing is lost. */

import type { Worker } from 'node:worker_threads';
import { p256 } from '@noble/curves/nist.js';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  b64uDecode,
  b64uEncode,
  checkReceiptOcmf,
  PileSession,
  parseOcmf,
  secureRandom,
  signKeyOf,
  verifyReceipt,
} from '../shared/index.js';
import { ReceiptSigningThread } from './receipt-thread.js';
import { PileReceipts } from './signed-receipts.js';
import { SessionStore } from './store.js';
import { removeTempDirs, tempDir } from './testkit.js';

afterAll(removeTempDirs);

const signingKey = p256.utils.randomSecretKey();

/** A logger that keeps what it was told. */
function recordingLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** A real thread and a pile's receipts made through it, on a real session store. */
function pileWithThread(name: string) {
  const { log, lines } = recordingLog();
  const thread = new ReceiptSigningThread(log);
  const store = new SessionStore(tempDir(name));
  const receipts = new PileReceipts({ pid: 'RT-1', signingKey, store, log, thread });
  const close = async () => {
    await thread.close();
    store.closeDatabase();
  };
  return { lines, thread, receipts, close };
}

/** A MAC-only receipt: verifies under SK, carries no OCMF record. */
function expectUnsigned(payload: string, record: ReturnType<typeof closing>['record']) {
  const end = JSON.parse(payload) as { body: string; mac: string };
  expect(verifyReceipt(record.sk, b64uDecode(record.sid), end.body, end.mac)).toBe(true);
  expect(JSON.parse(end.body).ocmf).toBeUndefined();
}

function closing(pid = 'RT-1') {
  const record = {
    sid: b64uEncode(secureRandom(16)),
    sk: secureRandom(32),
    pid,
    connector: 1,
    tid: b64uEncode(secureRandom(16)),
    pricePerKWh: '0.39',
    currency: 'EUR',
    startedAt: Date.now() - 60_000,
    chargerSigned: null,
    ocmfReadings: null,
  };
  const signer = new PileSession({ sid: record.sid, sk: record.sk, meterSeq: 0, stopSeq: 0 });
  return { record, signer };
}

/** The receipt as the vehicle checks it: MAC under SK, OCMF record under the pile's key; its PG. */
function checked(payload: string, record: ReturnType<typeof closing>['record'], wh: number) {
  const end = JSON.parse(payload) as { sid: string; body: string; mac: string };
  expect(verifyReceipt(record.sk, b64uDecode(record.sid), end.body, end.mac)).toBe(true);
  const body = JSON.parse(end.body) as { ocmf: string; wh: number };
  expect(body.wh).toBe(wh);
  const ocmf = checkReceiptOcmf(body.ocmf, {
    signKey: signKeyOf(signingKey),
    tid: record.tid,
    pid: record.pid,
    connector: record.connector,
    wh,
  });
  expect(ocmf.ok).toBe(true);
  const parsed = parseOcmf(body.ocmf);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value.payload.PG;
}

describe('ReceiptSigningThread', () => {
  it('makes receipts on its own thread, in PG order; one made at once meanwhile takes the next PG', async () => {
    const { lines, thread, receipts, close } = pileWithThread('receipt-thread');
    // the thread itself answers (make() only posts the job): a receipt comes back made
    const direct = closing();
    const made = await thread.make(thread.register(signingKey), {
      ...direct.record,
      reason: 'stopped',
      wh: 42,
      endedAtMs: Date.now(),
      pg: 99,
      intermediate: [],
    });
    expect(made?.signed).toBe(true);
    expect(checked(made!.payload, direct.record, 42)).toBe('T99');

    const ends = [1_000, 2_000, 3_000].map((wh) => {
      const { record, signer } = closing();
      return { record, wh, end: receipts.sessionEndAsync(signer, record, 'stopped', wh, Date.now()) };
    });
    // a shutdown's receipt, made at once while the three are on the thread
    const now = closing();
    const immediate = receipts.sessionEnd(now.signer, now.record, 'gateway-shutdown', 500, Date.now());
    expect(checked(immediate.payload, now.record, 500)).toBe('T4');
    const settled: number[] = [];
    const results = await Promise.all(
      ends.map(({ end }, i) =>
        end.then((e) => {
          settled.push(i);
          return e;
        }),
      ),
    );
    expect(settled).toEqual([0, 1, 2]);
    expect(results.map((e) => e.page?.pg)).toEqual([1, 2, 3]);
    results.forEach((e, i) => {
      expect(checked(e.payload, ends[i]!.record, ends[i]!.wh)).toBe(`T${i + 1}`);
    });
    expect(thread.running).toBe(true);
    await close();
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('hands jobs in flight back when it stops, and its caller makes every receipt itself from then on', async () => {
    const { lines, thread, receipts, close } = pileWithThread('receipt-thread-stop');
    const sessions = [1, 2, 3].map(() => closing());
    const inFlight = sessions.map(({ record, signer }, i) =>
      receipts.sessionEndAsync(signer, record, 'stopped', 100 * (i + 1), Date.now()),
    );
    await thread.close();
    expect(thread.running).toBe(false);
    const ended = await Promise.all(inFlight);
    ended.forEach((e, i) => {
      expect(checked(e.payload, sessions[i]!.record, 100 * (i + 1))).toBe(`T${i + 1}`);
    });
    const later = closing();
    const end = await receipts.sessionEndAsync(later.signer, later.record, 'stopped', 700, Date.now());
    expect(checked(end.payload, later.record, 700)).toBe('T4');
    // a thread closed on purpose is no failure
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    await close();
  });

  it('a key the thread cannot use: the MACed receipt still goes out, without a record; other keys still sign', async () => {
    const { lines, thread, receipts, close } = pileWithThread('receipt-thread-badkey');
    const { record } = closing();
    // zero is no P-256 private key: the thread's signer fails to import, the job comes back unsigned
    const made = await thread.make(thread.register(new Uint8Array(32)), {
      ...record,
      reason: 'stopped',
      wh: 5,
      endedAtMs: Date.now(),
      pg: 1,
      intermediate: [],
    });
    expect(made?.signed).toBe(false);
    expectUnsigned(made!.payload, record);
    expect(made?.notes[0]).toMatchObject({ level: 'error', msg: 'cannot sign the OCMF receipt' });
    // the pile's own key still signs through the same thread
    const next = closing();
    const signed = await receipts.sessionEndAsync(next.signer, next.record, 'stopped', 9, Date.now());
    expect(checked(signed.payload, next.record, 9)).toBe('T1');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    await close();
  });

  it('a record that cannot be built: the MACed receipt goes out without it, and its PG is used by the next', async () => {
    const { lines, receipts, close } = pileWithThread('receipt-thread-unbuildable');
    const bad = closing();
    // connector 0 is out of OCMF's range (CI pid*connector, 1..65535)
    const record = { ...bad.record, connector: 0 };
    const end = await receipts.sessionEndAsync(bad.signer, record, 'stopped', 10, Date.now());
    expect(end.page).toBeUndefined();
    expectUnsigned(end.payload, record);
    expect(lines.find((l) => l.msg === 'cannot sign the OCMF receipt')).toMatchObject({ level: 50 });
    const next = closing();
    const signed = await receipts.sessionEndAsync(next.signer, next.record, 'stopped', 11, Date.now());
    expect(checked(signed.payload, next.record, 11)).toBe('T1');
    await close();
  });

  it('a thread that dies is started again with every key; meanwhile receipts are made on the event loop', async () => {
    const { lines, thread, receipts, close } = pileWithThread('receipt-thread-restart');
    const first = closing();
    expect(
      checked(
        (await receipts.sessionEndAsync(first.signer, first.record, 'stopped', 1, Date.now())).payload,
        first.record,
        1,
      ),
    ).toBe('T1');
    // the worker goes away without close(): as a crash would
    await (thread as unknown as { worker: Worker }).worker.terminate();
    expect(thread.running).toBe(false);
    expect(lines.find((l) => l.msg.startsWith('the receipt-signing thread stopped'))).toMatchObject({
      level: 50,
    });
    const during = closing();
    const made = await receipts.sessionEndAsync(during.signer, during.record, 'stopped', 2, Date.now());
    expect(checked(made.payload, during.record, 2)).toBe('T2');
    const deadline = Date.now() + 10_000;
    while (!thread.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(thread.running).toBe(true);
    expect(thread.restarts).toBe(1);
    // the new worker has the pile's key again: it signs, not the event loop
    const after = closing();
    const direct = await thread.make(1, {
      ...after.record,
      reason: 'stopped',
      wh: 3,
      endedAtMs: Date.now(),
      pg: 3,
      intermediate: [],
    });
    expect(direct?.signed).toBe(true);
    expect(checked(direct!.payload, after.record, 3)).toBe('T3');
    await close();
  });
});
