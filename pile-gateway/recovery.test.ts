/** Recovery on its own: records on a real SQLite store, the receipts it sends checked as the vehicle does. */

import { p256 } from '@noble/curves/nist.js';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  b64uDecode,
  b64uEncode,
  checkReceiptOcmf,
  secureRandom,
  signKeyOf,
  topics,
  verifyReceipt,
} from '../shared/index.js';
import { openingRecord } from './active-session.js';
import { createMetrics } from './metrics.js';
import { Recovery } from './recovery.js';
import { PileReceipts } from './signed-receipts.js';
import { SessionStore } from './store.js';
import { removeTempDirs, tempDir } from './testkit.js';

afterAll(removeTempDirs);

function openSession(store: SessionStore, pid: string, vid: string) {
  const record = openingRecord(pid, {
    sid: b64uEncode(secureRandom(16)),
    vid,
    pid,
    connector: 1,
    sk: secureRandom(32),
    tid: b64uEncode(secureRandom(16)),
    offer: { connector: 1, maxW: 22_000, pricePerKWh: '0.39', currency: 'EUR', expiresAt: 0 },
    authorizedAt: Date.now() - 60_000,
  });
  store.open(record);
  return record;
}

describe('Recovery', () => {
  it('closes the sessions a previous run left open at its piles, once, with receipts the vehicle verifies', async () => {
    const store = new SessionStore(tempDir('recovery'));
    const left = openSession(store, 'RP-1', 'car-a');
    store.recordMeter(left.sid, 3, 1_250, 11_000, Date.now() - 1000);
    const elsewhere = openSession(store, 'RP-OTHER', 'car-b');
    const published: { topic: string; payload: string }[] = [];
    const metrics = createMetrics('gw-r');
    const logger = pino({ level: 'silent' });
    const signingKey = p256.utils.randomSecretKey();
    const receipts = new PileReceipts({ pid: 'RP-1', signingKey, store, log: logger });
    const recovery = new Recovery({
      store,
      serves: (pid) => pid === 'RP-1',
      receipts: () => receipts,
      publish: (topic, payload) => published.push({ topic, payload }),
      now: Date.now,
      metrics,
      logger,
    });
    // A session this run opens before the broker connection is up is its own, not left over.
    const ours = openSession(store, 'RP-1', 'car-c');

    expect(recovery.closeLeftOpen()).toBe(1);
    expect(published.map((m) => m.topic)).toEqual([topics.vehicleSession('car-a')]);
    const end = JSON.parse(published[0]!.payload);
    expect(verifyReceipt(left.sk, b64uDecode(left.sid), end.body, end.mac)).toBe(true);
    const body = JSON.parse(end.body);
    expect(body).toMatchObject({ reason: 'gateway-restart', wh: 1_250 });
    // signed in OCMF like every receipt (PROTOCOL §8a), the first of its pile
    const checked = checkReceiptOcmf(body.ocmf, {
      signKey: signKeyOf(signingKey),
      tid: left.tid,
      pid: 'RP-1',
      connector: 1,
      wh: 1_250,
    });
    expect(checked.ok && checked.value.record.payload.PG).toBe('T1');
    expect(store.get(left.sid)).toMatchObject({
      state: 'closed',
      reason: 'gateway-restart',
      receipt: published[0]!.payload,
    });
    expect(store.get(elsewhere.sid)?.state).toBe('open');
    expect(store.get(ours.sid)?.state).toBe('open');
    expect(await metrics.registry.getSingleMetricAsString('evauth_gateway_sessions_ended_total')).toMatch(
      /reason="gateway-restart",gid="gw-r"\} 1/,
    );

    expect(recovery.closeLeftOpen()).toBe(0);
    expect(published).toHaveLength(1);
    store.closeDatabase();
  });

  it('leaves the sessions it could take back open and closes only the rest', () => {
    const store = new SessionStore(tempDir('recovery'));
    const resumable = openSession(store, 'RP-2', 'car-d');
    const closable = openSession(store, 'RP-2', 'car-e');
    const published: string[] = [];
    const recovery = new Recovery({
      store,
      serves: () => true,
      resume: (record) => record.sid === resumable.sid,
      receipts: () => new PileReceipts({ pid: 'RP-2', store, log: pino({ level: 'silent' }) }),
      publish: (topic) => published.push(topic),
      now: Date.now,
      metrics: createMetrics('gw-r2'),
      logger: pino({ level: 'silent' }),
    });
    expect(recovery.resumed).toBe(1);
    expect(recovery.closeLeftOpen()).toBe(1);
    expect(published).toEqual([topics.vehicleSession('car-e')]);
    expect(store.get(resumable.sid)?.state).toBe('open');
    expect(store.get(closable.sid)?.state).toBe('closed');
    store.closeDatabase();
  });
});
