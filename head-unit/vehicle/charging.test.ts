/** The vehicle's session core keeps only the latest readings that failed their checks, and counts them all. */
import { describe, expect, it } from 'vitest';
import {
  b64uEncode,
  buildReceiptOcmfPayload,
  PileSession,
  type ReceiptBody,
  signKeyOf,
  signOcmfPayload,
} from '../../shared/index.js';
import { seededRandom } from '../../shared/testing.js';
import { ChargingSession } from './charging.js';

describe('ChargingSession', () => {
  it('keeps the last 100 rejected readings, counts every one, and still takes a genuine reading', () => {
    const random = seededRandom('charging-core');
    const sidBytes = random(16);
    const keys = {
      sid: b64uEncode(sidBytes),
      sidBytes,
      vid: 'VEH-1',
      pid: 'PILE-1',
      connector: 1,
      sk: random(32),
      offer: { connector: 1, maxW: 11_000, pricePerKWh: '0.39', currency: 'EUR', expiresAt: 0 },
    };
    const session = new ChargingSession(keys, { publish: () => {}, now: () => 0 });
    // Readings under the session's sid with a MAC no one holding SK made (a publisher who learnt the sid).
    const forger = new PileSession({ sid: keys.sid, sk: random(32), meterSeq: 0, stopSeq: 0 });
    for (let wh = 1; wh <= 150; wh++) {
      session.receive(JSON.stringify(forger.signMeter({ ts: 1, wh, w: 1, state: 'charging' })));
    }
    expect(session.rejectedCount).toBe(150);
    expect(session.rejected).toHaveLength(100);
    expect(session.rejected.every((r) => r.code === 'BAD_MAC')).toBe(true);
    const pile = new PileSession({ sid: keys.sid, sk: keys.sk, meterSeq: 0, stopSeq: 0 });
    session.receive(JSON.stringify(pile.signMeter({ ts: 2, wh: 5, w: 1000, state: 'charging' })));
    expect(session.meters.map((m) => m.reading.wh)).toEqual([5]);
  });
});

describe('ChargingSession receipts (PROTOCOL §8a)', () => {
  const random = seededRandom('charging-receipts');
  const signingKey = random(32);
  const tid = b64uEncode(random(16));
  const credential = { tid, signKey: signKeyOf(signingKey) };

  function session(options: { credential?: { tid: string; signKey?: string } } = {}) {
    const sidBytes = random(16);
    const keys = {
      sid: b64uEncode(sidBytes),
      sidBytes,
      vid: 'VEH-1',
      pid: 'PILE-1',
      connector: 2,
      sk: random(32),
      offer: { connector: 2, maxW: 11_000, pricePerKWh: '0.39', currency: 'EUR', expiresAt: 0 },
    };
    const charging = new ChargingSession(keys, { publish: () => {}, now: () => 0, ...options });
    const pile = new PileSession({ sid: keys.sid, sk: keys.sk, meterSeq: 0, stopSeq: 0 });
    return { charging, pile };
  }

  /** The pile's OCMF record of a session of `wh` Wh (signed with `key`, naming `connector`). */
  function ocmf(wh: number, key = signingKey, connector = 2): string {
    const { text } = buildReceiptOcmfPayload({
      pid: 'PILE-1',
      connector,
      tid,
      gi: 'evauth-gateway',
      pg: 7,
      startedAt: 1_767_225_600,
      endedAt: 1_767_229_200,
      startWh: 0,
      endWh: wh,
    });
    return signOcmfPayload(text, key);
  }

  const body = (wh: number, extra: Partial<ReceiptBody> = {}): ReceiptBody => ({
    reason: 'stopped',
    wh,
    cost: '1.17',
    currency: 'EUR',
    startedAt: 1_767_225_600,
    endedAt: 1_767_229_200,
    ...extra,
  });

  it('accepts a receipt whose record verifies under the credential’s signKey, and exposes the OCMF text', () => {
    const { charging, pile } = session({ credential });
    const record = ocmf(3_000);
    charging.receive(JSON.stringify(pile.signReceipt(body(3_000, { ocmf: record }))));
    expect(charging.receipt).toMatchObject({ ocmf: record, signedByCharger: true });
    expect(charging.rejectedCount).toBe(0);
  });

  it('refuses, like a forged reading, a record that is tampered, signed by another key, or disagrees with the body', () => {
    const record = ocmf(3_000);
    const refusals = {
      tampered: body(3_000, { ocmf: record.replace('"RV":3', '"RV":4').replace('"RV":0', '"RV":1') }),
      otherKey: body(3_000, { ocmf: ocmf(3_000, random(32)) }),
      energy: body(2_999, { ocmf: record }),
      connector: body(3_000, { ocmf: ocmf(3_000, signingKey, 1) }),
      garbage: body(3_000, { ocmf: 'OCMF|{}|{}' }),
    };
    for (const [name, refused] of Object.entries(refusals)) {
      const { charging, pile } = session({ credential });
      charging.receive(JSON.stringify(pile.signReceipt(refused)));
      expect(charging.receipt, name).toBeUndefined();
      expect(charging.isEnded, name).toBe(false);
      expect(
        charging.rejected.map((r) => r.code),
        name,
      ).toEqual(['BAD_OCMF']);
      expect(charging.rejected[0]!.message, name).toMatch(/^receipt OCMF record refused: [A-Z]{2}/);
    }
  });

  it('takes a receipt without a record, or a record it has no key for, on its MAC alone: not signed by the charger', () => {
    const none = session({ credential });
    none.charging.receive(JSON.stringify(none.pile.signReceipt(body(3_000))));
    expect(none.charging.receipt).toMatchObject({ signedByCharger: false });
    expect(none.charging.receipt?.ocmf).toBeUndefined();
    const revision1 = session({ credential: { tid } });
    revision1.charging.receive(
      JSON.stringify(revision1.pile.signReceipt(body(3_000, { ocmf: ocmf(3_000) }))),
    );
    expect(revision1.charging.receipt).toMatchObject({ signedByCharger: false });
  });
});
