/** Sharing credential.requests between cloud instances: every vehicle is answered by exactly one of them. */
import { describe, expect, it } from 'vitest';
import { answersVehicle, parseInstance } from './instances.js';

describe('cloud instances sharing the requests', () => {
  it('gives every vehicle to exactly one of n instances, and spreads them', () => {
    const vids = Array.from({ length: 3000 }, (_, i) => `V${i}`);
    for (const count of [1, 2, 3]) {
      const shares = Array.from({ length: count }, (_, i) => ({ index: i + 1, count }));
      const per = shares.map((share) => vids.filter((vid) => answersVehicle(share, vid)).length);
      for (const vid of vids) expect(shares.filter((s) => answersVehicle(s, vid))).toHaveLength(1);
      for (const n of per) expect(n).toBeGreaterThan((vids.length / count) * 0.9);
    }
    expect(answersVehicle(undefined, 'V1')).toBe(true);
  });

  it('parses i/n and refuses anything else', () => {
    expect(parseInstance('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/65', '1', 'a/b', '1/2/3', '-1/2'])
      expect(() => parseInstance(bad), bad).toThrow(/must be i\/n/);
  });
});
