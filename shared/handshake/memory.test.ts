/** The bounded memories: a window counter under a flood of distinct keys keeps a limited key limited. */
import { describe, expect, it } from 'vitest';
import { WindowCounter } from './memory.js';

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
