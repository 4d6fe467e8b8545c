/** The bounded memories: a window counter under a flood of distinct keys keeps a limited key limited; the pile's per-vehicle limits stay bounded and lockouts expire. */
import { describe, expect, it } from 'vitest';
import { VehicleLimits, WindowCounter } from './memory.js';

const MINUTE = 60_000;
const LIMIT = 20;

describe('WindowCounter', () => {
  it('counts per key within a window and starts again after it', () => {
    const counter = new WindowCounter(MINUTE, 10, LIMIT);
    expect(counter.hit('a', 0)).toBe(1);
    expect(counter.hit('a', 1000)).toBe(2);
    expect(counter.hit('b', 1000)).toBe(1);
    expect(counter.count('a', MINUTE - 1)).toBe(2);
    expect(counter.count('a', MINUTE)).toBe(0);
    expect(counter.hit('a', MINUTE)).toBe(1);
  });

  it('a limited key stays limited through 100,000 distinct keys, and the counter stays bounded', () => {
    const maxKeys = 10_000;
    const counter = new WindowCounter(MINUTE, maxKeys, LIMIT);
    for (let i = 0; i <= LIMIT; i++) counter.hit('victim-of-its-own-flood', 0);
    expect(counter.count('victim-of-its-own-flood', 0)).toBe(LIMIT + 1);
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      counter.hit(`key-${i}`, 1 + (i % 1000)); // all within the same minute
      largest = Math.max(largest, counter.size);
    }
    expect(largest).toBe(maxKeys);
    expect(counter.hit('victim-of-its-own-flood', 5000)).toBe(LIMIT + 2);
    // the newest keys are tracked, the oldest within-limit ones went
    expect(counter.count('key-99999', 5000)).toBe(1);
    expect(counter.count('key-0', 5000)).toBe(0);
  });

  it('evicts expired windows before live ones', () => {
    const counter = new WindowCounter(MINUTE, 3, LIMIT);
    counter.hit('old', 0);
    counter.hit('live-1', MINUTE - 10);
    counter.hit('live-2', MINUTE - 5);
    counter.hit('new', MINUTE + 1);
    expect(counter.size).toBe(3);
    expect(counter.count('live-1', MINUTE + 1)).toBe(1);
    expect(counter.count('live-2', MINUTE + 1)).toBe(1);
  });

  it('when every tracked key is over the limit, the oldest limited key goes and the others stay', () => {
    const counter = new WindowCounter(MINUTE, 3, 1);
    for (const key of ['a', 'b', 'c']) {
      counter.hit(key, 0);
      counter.hit(key, 0);
    }
    counter.hit('d', 10);
    expect(counter.size).toBe(3);
    expect(counter.count('a', 10)).toBe(0);
    expect(counter.count('b', 10)).toBe(2);
    expect(counter.count('c', 10)).toBe(2);
    expect(counter.count('d', 10)).toBe(1);
  });

  it('stays fast when some limited keys are passed over again and again', () => {
    const counter = new WindowCounter(MINUTE, 1000, 1);
    for (let i = 0; i < 500; i++) {
      counter.hit(`limited-${i}`, 0);
      counter.hit(`limited-${i}`, 0);
    }
    for (let i = 0; i < 200_000; i++) counter.hit(`new-${i}`, 1);
    for (let i = 0; i < 500; i++) expect(counter.count(`limited-${i}`, 1)).toBe(2);
    expect(counter.size).toBe(1000);
  });
});

describe('VehicleLimits', () => {
  const limits = {
    requestsPerVehiclePerMinute: 2,
    failedProofsBeforeLockout: 2,
    lockoutMs: 60_000,
    trackedVehicles: 50,
  };

  it('counts requests per minute and locks a vehicle out after its failed proofs, until the lockout ends', () => {
    const v = new VehicleLimits(limits);
    expect([v.admitRequest('A', 0), v.admitRequest('A', 1), v.admitRequest('A', 2)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(v.admitRequest('A', 60_000)).toBe(true);
    v.countFailedProof('A', 0);
    expect(v.standing('A', 0)).toMatchObject({ failedProofs: 1, lockedOut: false });
    v.countFailedProof('A', 10);
    expect(v.standing('A', 10)).toMatchObject({ failedProofs: 0, lockedOut: true });
    expect(v.standing('B', 10)).toEqual({ requests: 0, failedProofs: 0, lockedOut: false });
    expect(v.isLockedOut('A', 60_009)).toBe(true);
    expect(v.isLockedOut('A', 60_010)).toBe(false);
  });

  it('holds at most trackedVehicles lockouts and counters under 1,000 vehicles', () => {
    const v = new VehicleLimits(limits);
    for (let i = 0; i < 1_000; i++) {
      const key = `V-${i}`;
      v.admitRequest(key, i);
      v.countFailedProof(key, i);
      v.countFailedProof(key, i);
    }
    expect(v.sizes.lockouts).toBeLessThanOrEqual(50);
    expect(v.sizes.vehicles).toBeLessThanOrEqual(50);
    expect(v.sizes.failedProofs).toBeLessThanOrEqual(50);
    expect(v.isLockedOut('V-999', 1_000)).toBe(true);
  });
});
