/**
 * What a password check may cost the broker. Checking a password is ~20-40 ms of scrypt in the thread pool; an
 * unauthenticated client could otherwise queue thousands of them and make every genuine login wait. So:
 * - a (source address, username) pair that failed backs off exponentially (100 ms, 200 ms, … 5 s): its attempts
 *   inside the window are refused at once, without a check (short enough that a genuine client sharing an
 *   address with an attacker — a NAT — still gets through on a retry);
 * - checks run a few at a time; attempts from a source address or for a username that failed recently (and
 *   attempts of pairs out of back-off) wait in a separate, smaller queue behind everyone else's, so a flood costs
 *   a genuine client at most the few checks ahead of it; an attempt that finds its queue full is refused at once;
 * - every table is bounded (oldest entries leave first) and entries expire.
 * A login that verified before skips the gate and scrypt altogether (LoginView remembers it): a reconnecting
 * client is never held up, whatever floods its address or its username.
 */

export interface LoginGateOptions {
  /** checks running at once; default 2 (libuv's pool has 4 threads, shared with file and DNS work) */
  concurrency?: number;
  /** attempts waiting in the ordinary queue; default 256 */
  queue?: number;
  /** attempts waiting in the queue of sources and usernames that failed recently; default 8 */
  suspectQueue?: number;
  /** first back-off of a failing pair; doubles per failure; default 100 ms */
  backoffMs?: number;
  /** longest back-off; default 5 s */
  maxBackoffMs?: number;
  /** how long a failure is remembered; default 10 minutes */
  memoryMs?: number;
  /** addresses, usernames and pairs remembered at most (each); default 10 000 */
  capacity?: number;
  now?: () => number;
}

/** Why an attempt was refused without a check. */
export type GateRefusal = 'backoff' | 'busy';

interface Failure {
  count: number;
  lastAt: number;
}

/** A bounded map of failures by key: expired entries go, and past capacity the oldest insertion goes. */
class FailureTable {
  private readonly entries = new Map<string, Failure>();
  constructor(
    private readonly capacity: number,
    private readonly memoryMs: number,
  ) {}

  get(key: string, now: number): Failure | undefined {
    const entry = this.entries.get(key);
    if (entry && now - entry.lastAt > this.memoryMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  fail(key: string, now: number): Failure {
    const entry = this.get(key, now) ?? { count: 0, lastAt: now };
    entry.count++;
    entry.lastAt = now;
    this.entries.delete(key);
    this.entries.set(key, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
    return entry;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

export class LoginGate {
  private readonly concurrency: number;
  private readonly queueLimit: number;
  private readonly suspectQueueLimit: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly bySource: FailureTable;
  private readonly byUsername: FailureTable;
  private readonly byPair: FailureTable;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly suspectWaiting: (() => void)[] = [];
  /** counters for logs and tests */
  readonly refused = { backoff: 0, busy: 0 };

  constructor(options: LoginGateOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.queueLimit = options.queue ?? 256;
    this.suspectQueueLimit = options.suspectQueue ?? 8;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.now = options.now ?? Date.now;
    const capacity = options.capacity ?? 10_000;
    const memoryMs = options.memoryMs ?? 10 * 60_000;
    this.bySource = new FailureTable(capacity, memoryMs);
    this.byUsername = new FailureTable(capacity, memoryMs);
    this.byPair = new FailureTable(capacity, memoryMs);
  }

  /** Sizes of the failure tables (bounded by `capacity` each). */
  get remembered(): { sources: number; usernames: number; pairs: number } {
    return { sources: this.bySource.size, usernames: this.byUsername.size, pairs: this.byPair.size };
  }

  /**
   * Runs `check` (the password check) when the gate lets the attempt through, and learns from its outcome:
   * resolves with check's result, or with a refusal when the attempt was turned away without a check.
   */
  async admit<T>(
    source: string,
    username: string,
    check: () => Promise<T | undefined>,
  ): Promise<{ result: T | undefined } | { refused: GateRefusal }> {
    const now = this.now();
    const pairKey = `${source}\u0000${username}`;
    const pair = this.byPair.get(pairKey, now);
    if (pair && now < pair.lastAt + this.backoff(pair.count)) {
      this.refused.backoff++;
      return { refused: 'backoff' };
    }
    const suspect =
      pair !== undefined ||
      this.bySource.get(source, now) !== undefined ||
      this.byUsername.get(username, now) !== undefined;
    if (!(await this.slot(suspect))) {
      this.refused.busy++;
      return { refused: 'busy' };
    }
    try {
      const result = await check();
      const at = this.now();
      if (result === undefined) {
        this.byPair.fail(pairKey, at);
        this.bySource.fail(source, at);
        this.byUsername.fail(username, at);
      } else {
        this.byPair.forget(pairKey);
      }
      return { result };
    } finally {
      this.release();
    }
  }

  private backoff(failures: number): number {
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(failures - 1, 30));
  }

  /** Waits for a place to run; false when the attempt's queue is full. */
  private slot(suspect: boolean): Promise<boolean> {
    if (this.running < this.concurrency && this.waiting.length === 0 && this.suspectWaiting.length === 0) {
      this.running++;
      return Promise.resolve(true);
    }
    const queue = suspect ? this.suspectWaiting : this.waiting;
    if (queue.length >= (suspect ? this.suspectQueueLimit : this.queueLimit)) return Promise.resolve(false);
    return new Promise((resolve) => queue.push(() => resolve(true)));
  }

  private release(): void {
    // the ordinary queue first: a flood waits behind genuine clients, never in front of them
    const next = this.waiting.shift() ?? this.suspectWaiting.shift();
    if (next) next();
    else this.running--;
  }
}
