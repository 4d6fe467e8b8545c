/** A pile's signed receipts on a real session store: PG across restarts, the meter's own record, no key. */

import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  b64uEncode,
  checkReceiptOcmf,
  PileSession,
  parseOcmf,
  secureRandom,
  signKeyOf,
} from '../shared/index.js';
import type { ChargerSignedReading } from './charger.js';
import { PileReceipts } from './signed-receipts.js';
import { SessionStore } from './store.js';
import { removeTempDirs, tempDir } from './testkit.js';

afterAll(removeTempDirs);

const log = pino({ level: 'silent' });
const signingKey = p256.utils.randomSecretKey();

function record(pid = 'SR-1') {
  return {
    sid: b64uEncode(secureRandom(16)),
    pid,
    connector: 2,
    tid: b64uEncode(secureRandom(16)),
    pricePerKWh: '0.39',
    currency: 'EUR',
    startedAt: Date.now() - 60_000,
    sk: secureRandom(32),
    chargerSigned: null,
    ocmfReadings: null as string | null,
  };
}

/** Opens a session on the store, ends it through `receipts` and stores the receipt as the gateway does. */
function endSession(
  store: SessionStore,
  receipts: PileReceipts,
  wh: number,
  chargerSigned?: ChargerSignedReading[],
) {
  const r = record();
  store.open({ ...r, vid: 'car', maxWh: null, maxW: 11_000 });
  const signer = new PileSession({ sid: r.sid, sk: r.sk, meterSeq: 0, stopSeq: 0 });
  const end = receipts.sessionEnd(signer, r, 'stopped', wh, Date.now(), chargerSigned);
  store.closeSession(r.sid, 'stopped', Date.now(), wh, end.payload, undefined, end.page);
  const body = JSON.parse(JSON.parse(end.payload).body);
  return { record: r, body };
}

const pageOf = (ocmf: string) => {
  const parsed = parseOcmf(ocmf);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value.payload.PG;
};

describe('PileReceipts', () => {
  it('signs each receipt with a PG that rises, stored with the receipt and continued after a restart', () => {
    const dir = tempDir('signed-receipts');
    let store = new SessionStore(dir);
    let receipts = new PileReceipts({ pid: 'SR-1', signingKey, store, log });
    const first = endSession(store, receipts, 1_500);
    const second = endSession(store, receipts, 2_750);
    expect([pageOf(first.body.ocmf), pageOf(second.body.ocmf)]).toEqual(['T1', 'T2']);
    const checked = checkReceiptOcmf(second.body.ocmf, {
      signKey: signKeyOf(signingKey),
      tid: second.record.tid,
      pid: 'SR-1',
      connector: 2,
      wh: 2_750,
    });
    expect(checked.ok).toBe(true);
    // another pile counts on its own
    expect(new PileReceipts({ pid: 'SR-2', signingKey, store, log }).signs).toBe(true);
    expect(store.lastReceiptPage('SR-2')).toBe(0);
    store.closeDatabase();

    store = new SessionStore(dir);
    receipts = new PileReceipts({ pid: 'SR-1', signingKey, store, log });
    expect(pageOf(endSession(store, receipts, 10).body.ocmf)).toBe('T3');
    // a receipt signed but never stored (so never sent) leaves nothing behind: its number is used again
    receipts.sessionEnd(
      new PileSession({ sid: b64uEncode(secureRandom(16)), sk: secureRandom(32), meterSeq: 0, stopSeq: 0 }),
      record(),
      'stopped',
      5,
      Date.now(),
    );
    store.closeDatabase();
    store = new SessionStore(dir);
    receipts = new PileReceipts({ pid: 'SR-1', signingKey, store, log });
    expect(pageOf(endSession(store, receipts, 10).body.ocmf)).toBe('T4');
    store.closeDatabase();
  });

  it('adds the charger meter’s end record untouched, unless it would not fit the receipt', () => {
    const store = new SessionStore(tempDir('signed-receipts'));
    const receipts = new PileReceipts({ pid: 'SR-1', signingKey, store, log });
    const reading = (context: string, signedMeterData: string): ChargerSignedReading => ({
      timestamp: new Date().toISOString(),
      context,
      signedMeterData,
      publicKey: 'meter-public-key',
    });
    const begin = reading('Transaction.Begin', 'OCMF|{"begin":1}|{"SD":"00"}');
    const end = reading('Transaction.End', 'OCMF|{"end":1}|{"SD":"01"}');
    const { body } = endSession(store, receipts, 100, [begin, end, reading('Sample.Periodic', 'x')]);
    expect(body).toMatchObject({ meterOcmf: end.signedMeterData, meterKey: 'meter-public-key' });
    expect(body.ocmf).toMatch(/^OCMF\|/);
    const huge = endSession(store, receipts, 100, [reading('Transaction.End', 'A'.repeat(7000))]);
    expect(huge.body.meterOcmf).toBeUndefined();
    expect(huge.body.meterKey).toBeUndefined();
    expect(pageOf(huge.body.ocmf)).toBe('T2');
    // within the record's 6144 characters and the message's 8 KiB, but past session.end's 4096-character body
    const long = endSession(store, receipts, 100, [reading('Transaction.End', 'B'.repeat(3500))]);
    expect(long.body.meterOcmf).toBeUndefined();
    expect(long.body.ocmf).toMatch(/^OCMF\|/);
    store.closeDatabase();
  });

  it('without a signing key: the receipt stands on its MAC, no OCMF record, no PG used', () => {
    const store = new SessionStore(tempDir('signed-receipts'));
    const receipts = new PileReceipts({ pid: 'SR-1', store, log });
    expect(receipts.signs).toBe(false);
    const { body } = endSession(store, receipts, 100);
    expect(body.ocmf).toBeUndefined();
    expect(store.lastReceiptPage('SR-1')).toBe(0);
    store.closeDatabase();
  });
  it('continues from the PG a gateway of the receipt_pages table stored, then from the session rows', () => {
    const dir = tempDir('signed-receipts-legacy');
    new SessionStore(dir).closeDatabase();
    const db = new Database(join(dir, 'sessions.db'));
    db.prepare('INSERT INTO receipt_pages (pid, pg) VALUES (?, ?)').run('SR-1', 7);
    db.close();
    let store = new SessionStore(dir);
    expect(store.lastReceiptPage('SR-1')).toBe(7);
    const end = endSession(store, new PileReceipts({ pid: 'SR-1', signingKey, store, log }), 100);
    expect(pageOf(end.body.ocmf)).toBe('T8');
    store.closeDatabase();
    store = new SessionStore(dir);
    expect(store.lastReceiptPage('SR-1')).toBe(8);
    expect(store.lastReceiptPage('SR-9')).toBe(0);
    store.closeDatabase();
  });
  it('stores a receipt once, beside its session row, and still reads one an older gateway kept in the row', () => {
    const dir = tempDir('signed-receipts-table');
    let store = new SessionStore(dir);
    const receipts = new PileReceipts({ pid: 'SR-1', signingKey, store, log });
    const { record: closed } = endSession(store, receipts, 1_200);
    const stored = store.get(closed.sid);
    expect(stored?.state).toBe('closed');
    expect(stored?.lastWh).toBe(1_200);
    expect(JSON.parse(stored?.receipt ?? '{}').type).toBe('session.end');
    // a session that is not open takes no receipt: nothing stored, the first one kept
    expect(store.closeSession(closed.sid, 'stopped', Date.now(), 9_999, 'forged', 7)).toBe(false);
    expect(store.closeSession('no-such-session', 'stopped', Date.now(), 1, 'forged')).toBe(false);
    expect(store.get(closed.sid)?.receipt).toBe(stored?.receipt);
    expect(store.get(closed.sid)?.lastWh).toBe(1_200);
    store.closeDatabase();
    const db = new Database(join(dir, 'sessions.db'));
    expect(db.prepare('SELECT COUNT(*) FROM receipts').pluck().get()).toBe(1);
    // a session closed by a gateway from before the receipts table: its receipt is in the row
    db.prepare(
      `INSERT INTO sessions (sid, pid, connector, vid, tid, sk, max_w, price_per_kwh, currency, started_at, state,
        reason, ended_at, receipt) VALUES ('old', 'SR-1', 1, 'car', 't', x'00', 1, '0.39', 'EUR', 1, 'closed',
        'stopped', 2, 'older receipt')`,
    ).run();
    db.close();
    store = new SessionStore(dir);
    expect(store.get('old')?.receipt).toBe('older receipt');
    expect(store.lastClosed(10).map((r) => r.receipt)).toEqual(
      expect.arrayContaining(['older receipt', stored?.receipt]),
    );
    store.closeDatabase();
  });
});
