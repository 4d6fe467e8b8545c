/** Bounded memories the pile keeps between messages: replay entries and per-vehicle counters. */

/**
 * Keys remembered until an expiry time. Bounded: expired entries leave on prune, and past `capacity`
 * the oldest-inserted entries are evicted first (they are the closest to expiring for equal ticket lives).
 */
export class ExpiringSet {
  private readonly entries = new Map<string, number>();
  private nextPruneAt = 0;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('ExpiringSet: capacity must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string, nowMs: number): boolean {
    const expiry = this.entries.get(key);
    if (expiry === undefined) return false;
    if (expiry <= nowMs) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  add(key: string, expiresAtMs: number, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, expiresAtMs);
    if (nowMs >= this.nextPruneAt) this.prune(nowMs);
    // Still full: evict the oldest insertions (a full scan per insert would make a flood quadratic).
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(k);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  prune(nowMs: number): void {
    for (const [k, expiry] of this.entries) {
      if (expiry <= nowMs) this.entries.delete(k);
    }
    this.nextPruneAt = nowMs + 60_000;
  }
}

/** Fixed-window counter per key, e.g. requests per vehicle per minute. Bounded by pruning stale windows. */
export class WindowCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  /** Counts one event for key and returns the count within the current window. */
  hit(key: string, nowMs: number): number {
    let w = this.windows.get(key);
    if (!w || nowMs - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxKeys) this.prune(nowMs);
      w = { start: nowMs, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    return w.count;
  }

  count(key: string, nowMs: number): number {
    const w = this.windows.get(key);
    return w && nowMs - w.start < this.windowMs ? w.count : 0;
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  prune(nowMs: number): void {
    for (const [k, w] of this.windows) {
      if (nowMs - w.start >= this.windowMs) this.windows.delete(k);
    }
    // Under a flood of distinct keys, drop the oldest to stay bounded.
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(k);
    }
  }
}
