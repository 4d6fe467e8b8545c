/**
 * Intermediate readings (TX T) on the gateway: when one is due, how they are kept on a real session store (also
 * one from before the column), and how a pile's receipt carries them, also for a session closed after a restart.
 */
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  b64uEncode,
  checkReceiptOcmf,
  formatOcmfTime,
  MAX_RECEIPT_INTERMEDIATE_READINGS,
  PileSession,
  secureRandom,
  signKeyOf,
  unixSeconds,
} from '../shared/index.js';
import { openingRecord } from './active-session.js';
import { type OcmfIntermediateReading, storedOcmfReadings, withDueReading } from './ocmf-readings.js';
import { PileReceipts } from './signed-receipts.js';
import { SessionStore } from './store.js';
import { removeTempDirs, tempDir } from './testkit.js';

afterAll(removeTempDirs);

const log = pino({ level: 'silent' });
const signingKey = p256.utils.randomSecretKey();

function openSession(store: SessionStore, startedAt: number) {
  const record = openingRecord('OR-1', {
    sid: b64uEncode(secureRandom(16)),
    vid: 'car',
    pid: 'OR-1',
    connector: 1,
    sk: secureRandom(32),
    tid: b64uEncode(secureRandom(16)),
    offer: { connector: 1, maxW: 22_000, pricePerKWh: '0.39', currency: 'EUR', expiresAt: 0 },
    authorizedAt: startedAt,
  });
  store.open(record);
  return record;
}

/** Ends the stored session `sid` through a fresh PileReceipts (as after a restart); its OCMF record's readings. */
function closeAfterRestart(store: SessionStore, sid: string, wh: number, endedAt: number) {
  const record = store.get(sid)!;
  const receipts = new PileReceipts({ pid: 'OR-1', signingKey, store, log });
  const signer = new PileSession({ sid, sk: record.sk, meterSeq: record.meterSeq, stopSeq: 0 });
  const end = receipts.sessionEnd(signer, record, 'gateway-restart', wh, endedAt);
  const ocmf = JSON.parse(JSON.parse(end.payload).body).ocmf as string;
  const checked = checkReceiptOcmf(ocmf, {
    signKey: signKeyOf(signingKey),
    tid: record.tid,
    pid: 'OR-1',
    connector: 1,
    wh,
  });
  if (!checked.ok) throw new Error(checked.message);
  return checked.value.record.payload.RD;
}

describe('withDueReading', () => {
  const start = 1_000_000;
  it('takes a reading once the interval has passed since the start or the previous one, up to the cap', () => {
    expect(withDueReading([], undefined, start, { atMs: start + 10 ** 9, wh: 1 })).toBeUndefined();
    expect(withDueReading([], 900, start, { atMs: start + 899, wh: 1 })).toBeUndefined();
    const first = withDueReading([], 900, start, { atMs: start + 900, wh: 5 });
    expect(first).toEqual([{ atMs: start + 900, wh: 5 }]);
    expect(withDueReading(first!, 900, start, { atMs: start + 1_799, wh: 6 })).toBeUndefined();
    expect(withDueReading(first!, 900, start, { atMs: start + 1_800, wh: 6 })).toHaveLength(2);
    let readings: OcmfIntermediateReading[] = [];
    for (let k = 1; k <= MAX_RECEIPT_INTERMEDIATE_READINGS + 5; k++)
      readings = withDueReading(readings, 900, start, { atMs: start + 900 * k, wh: k }) ?? readings;
    expect(readings).toHaveLength(MAX_RECEIPT_INTERMEDIATE_READINGS);
    expect(readings.at(-1)).toEqual({ atMs: start + 900 * MAX_RECEIPT_INTERMEDIATE_READINGS, wh: 16 });
  });

  it('reads back only well-formed readings from a record, none from a damaged one', () => {
    expect(storedOcmfReadings(null)).toEqual([]);
    expect(storedOcmfReadings('{not json')).toEqual([]);
    expect(storedOcmfReadings('{"atMs":1,"wh":2}')).toEqual([]);
    expect(storedOcmfReadings('[{"atMs":1,"wh":2},{"atMs":"x","wh":3},null,{"atMs":4,"wh":1.5}]')).toEqual([
      { atMs: 1, wh: 2 },
    ]);
  });
});

describe('intermediate readings on the session store and in the receipt', () => {
  it('are stored with the meter reading and signed as TX T between B and E after a restart', () => {
    const dir = tempDir('ocmf-readings');
    let store = new SessionStore(dir);
    const startedAt = Date.now() - 3_600_000;
    const record = openSession(store, startedAt);
    const readings = [
      { atMs: startedAt + 900_000, wh: 2_000 },
      { atMs: startedAt + 1_800_000, wh: 4_100 },
    ];
    store.recordMeter(record.sid, 1, 2_000, 11_000, readings[0]!.atMs, JSON.stringify(readings.slice(0, 1)));
    store.recordMeter(record.sid, 2, 4_100, 11_000, readings[1]!.atMs, JSON.stringify(readings));
    // a reading that is not an intermediate one leaves them as they are
    store.recordMeter(record.sid, 3, 5_000, 11_000, startedAt + 2_000_000);
    store.closeDatabase();

    store = new SessionStore(dir);
    expect(JSON.parse(store.get(record.sid)!.ocmfReadings!)).toEqual(readings);
    const rd = closeAfterRestart(store, record.sid, 5_000, startedAt + 2_100_000);
    expect(rd.map((r) => [r.TX, r.RV])).toEqual([
      ['B', 0],
      ['T', 2],
      ['T', 4.1],
      ['E', 5],
    ]);
    // each at the second its reading was signed in
    const tm = (ms: number) => formatOcmfTime(unixSeconds(ms) * 1000, { offsetMinutes: 0, status: 'S' });
    expect(rd.slice(1, 3).map((r) => r.TM)).toEqual(readings.map((r) => tm(r.atMs)));
    store.closeDatabase();
  });

  it('a record without readings signs only B and E, and readings that do not fit are left out, not the record', () => {
    const store = new SessionStore(tempDir('ocmf-readings'));
    const startedAt = Date.now() - 60_000;
    const plain = openSession(store, startedAt);
    expect(closeAfterRestart(store, plain.sid, 100, Date.now()).map((r) => r.TX)).toEqual(['B', 'E']);
    // readings that went back (a clock stepped back before a restart): the record keeps its B and E
    const damaged = openSession(store, startedAt);
    const back = [
      { atMs: startedAt + 20_000, wh: 50 },
      { atMs: startedAt + 10_000, wh: 60 },
    ];
    store.recordMeter(damaged.sid, 1, 60, 0, startedAt + 20_000, JSON.stringify(back));
    expect(closeAfterRestart(store, damaged.sid, 100, Date.now()).map((r) => r.TX)).toEqual(['B', 'E']);
    store.closeDatabase();
  });

  it('a session store from before the column gains it', () => {
    const dir = tempDir('ocmf-readings');
    new SessionStore(dir).closeDatabase();
    const db = new Database(path.join(dir, 'sessions.db'));
    db.exec('ALTER TABLE sessions DROP COLUMN ocmf_readings');
    db.close();
    const store = new SessionStore(dir);
    const record = openSession(store, Date.now() - 10_000);
    expect(store.get(record.sid)!.ocmfReadings).toBeNull();
    store.recordMeter(record.sid, 1, 10, 0, Date.now(), '[{"atMs":1,"wh":10}]');
    expect(store.get(record.sid)!.ocmfReadings).toBe('[{"atMs":1,"wh":10}]');
    store.closeDatabase();
  });
});
