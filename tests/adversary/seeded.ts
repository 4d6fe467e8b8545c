/**
 * The attacker's only source of choices: xoroshiro128+ from a seed (pure-rand), so a run's decisions are a
 * function of its seed and of the order in which the real system's messages reached it.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export class Seeded {
  private readonly rng: ReturnType<typeof xoroshiro128plus>;

  constructor(readonly seed: number) {
    this.rng = xoroshiro128plus(seed);
  }

  /** An integer in [from, to]. */
  int(from: number, to: number): number {
    return uniformInt(this.rng, from, to);
  }

  chance(p: number): boolean {
    return this.int(0, 9999) < p * 10_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Bytes for forged nonces, MACs and keys: a RandomSource (shared/ids.ts) that replays with the seed. */
  readonly bytes = (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  };
}
