/** The pile's per-vehicle limits stay bounded however many vehicles they see, and lockouts expire. */
import { describe, expect, it } from 'vitest';
import { VehicleLimits } from './memory.js';

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
