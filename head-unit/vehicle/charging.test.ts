/** The vehicle's session core keeps only the latest readings that failed their checks, and counts them all. */
import { describe, expect, it } from 'vitest';
import { b64uEncode, PileSession } from '../../shared/index.js';
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
