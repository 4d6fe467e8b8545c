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

/**
 * Fixed-window counter per key, e.g. requests per vehicle per minute. Bounded: it tracks at most `maxKeys` keys,
 * and a key over `limit` (the count its caller refuses beyond) is the last to be forgotten, so a flood of new
 * keys cannot free a limited one. A new key finds room by dropping expired windows first, then the oldest window
 * still within the limit. Only when every tracked key is over the limit does a limited one go: the oldest, the
 * nearest to the end of its window.
 */
export class WindowCounter {
  /** in the order windows started, except that limited windows passed over by an eviction move to the back */
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {
    if (!(maxKeys >= 1)) throw new RangeError('WindowCounter: maxKeys must be at least 1');
  }

  get size(): number {
    return this.windows.size;
  }

  /** Counts one event for key and returns the count within the current window. */
  hit(key: string, nowMs: number): number {
    let w = this.windows.get(key);
    if (w && nowMs - w.start >= this.windowMs) {
      this.windows.delete(key); // a new window goes to the back, in start order
      w = undefined;
    }
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.makeRoom(nowMs);
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

  private expired(w: { start: number }, nowMs: number): boolean {
    return nowMs - w.start >= this.windowMs;
  }

  /** Frees one slot or more; amortised O(1) while few keys are over the limit. */
  private makeRoom(nowMs: number): void {
    for (const [k, w] of this.windows) {
      if (!this.expired(w, nowMs)) break;
      this.windows.delete(k);
    }
    if (this.windows.size < this.maxKeys) return;
    // Limited windows passed over move to the back, so the next eviction does not walk past them again.
    let passed = 0;
    const tracked = this.windows.size;
    for (const [k, w] of this.windows) {
      if (passed === tracked) break; // every key is over the limit
      this.windows.delete(k);
      if (w.count <= this.limit || this.expired(w, nowMs)) return;
      this.windows.set(k, w);
      passed++;
    }
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }
}

/** What a pile holds against one vehicle (one limit key) now. */
export interface VehicleStanding {
  /** requests counted in the current minute */
  requests: number;
  /** failed proofs counting toward lockout */
  failedProofs: number;
  lockedOut: boolean;
}

/**
 * The per-vehicle limits of PROTOCOL §6 step 9: requests per minute, failed proofs, lockout. Only requests that
 * passed step 5 reach it (revision 2), so only a vehicle's own traffic counts against it. Bounded per memory.
 */
export class VehicleLimits {
  private readonly requests: WindowCounter;
  private readonly failedProofs: WindowCounter;
  /** limit keys locked out, until when */
  private readonly lockouts: ExpiringSet;

  constructor(
    private readonly limits: {
      requestsPerVehiclePerMinute: number;
      failedProofsBeforeLockout: number;
      lockoutMs: number;
      trackedVehicles: number;
    },
  ) {
    this.requests = new WindowCounter(60_000, limits.trackedVehicles, limits.requestsPerVehiclePerMinute);
    this.failedProofs = new WindowCounter(limits.lockoutMs, limits.trackedVehicles);
    this.lockouts = new ExpiringSet(limits.trackedVehicles);
  }

  isLockedOut(key: string, nowMs: number): boolean {
    return this.lockouts.has(key, nowMs);
  }

  /** Counts one request; false when it is over the limit per minute. */
  admitRequest(key: string, nowMs: number): boolean {
    return this.requests.hit(key, nowMs) <= this.limits.requestsPerVehiclePerMinute;
  }

  /** Counts a failed proof; the one that reaches the limit locks the key out. */
  countFailedProof(key: string, nowMs: number): void {
    if (this.failedProofs.hit(key, nowMs) >= this.limits.failedProofsBeforeLockout) {
      this.lockouts.add(key, nowMs + this.limits.lockoutMs, nowMs);
      this.failedProofs.reset(key);
    }
  }

  standing(key: string, nowMs: number): VehicleStanding {
    return {
      requests: this.requests.count(key, nowMs),
      failedProofs: this.failedProofs.count(key, nowMs),
      lockedOut: this.lockouts.has(key, nowMs),
    };
  }

  get sizes(): { vehicles: number; failedProofs: number; lockouts: number } {
    return {
      vehicles: this.requests.size,
      failedProofs: this.failedProofs.size,
      lockouts: this.lockouts.size,
    };
  }
}
