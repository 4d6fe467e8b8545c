/**
 * The pile's auth.results once a vehicle's proof verified: each waits for the gateway's commit (record stored,
 * charger started) or abandon, and a committed one is kept for the challenge lifetime so that a QoS-1
 * duplicate of the auth.response gets the same result.
 */
import { topics } from '../topics.js';
import type { CommittingHandshake, CompletedHandshake, PileOutput } from './pile-types.js';

export class HandshakeResults {
  private readonly committing = new Map<string, CommittingHandshake>();
  private readonly completed = new Map<string, CompletedHandshake>();

  /** @param keepMs how long a committed result answers duplicates */
  constructor(private readonly keepMs: number) {}

  get committingCount(): number {
    return this.committing.size;
  }

  get completedCount(): number {
    return this.completed.size;
  }

  /** A verified response: its result waits for the commit. */
  hold(sid: string, handshake: CommittingHandshake): void {
    this.committing.set(sid, handshake);
  }

  /** What a repeated auth.response for `sid` gets; undefined when no result of that sid is known. */
  repeat(sid: string, proof: string): PileOutput[] | undefined {
    const known = this.completed.get(sid) ?? this.committing.get(sid);
    if (!known) return undefined;
    if (known.proof !== proof) return [{ kind: 'dropped', reason: 'response for a completed handshake' }];
    // While the gateway is still committing the session, nothing: the result goes out once, at the commit.
    if (!this.completed.has(sid)) return [];
    return [{ kind: 'send', topic: topics.vehicleAuth(known.vid), payload: known.resultPayload }];
  }

  /** The result to send now, kept until `nowMs + keepMs`; nothing for a sid that is not waiting. */
  commit(sid: string, nowMs: number): PileOutput[] {
    const c = this.committing.get(sid);
    if (!c) return [];
    this.committing.delete(sid);
    this.completed.set(sid, {
      vid: c.vid,
      proof: c.proof,
      resultPayload: c.resultPayload,
      expiresAt: nowMs + this.keepMs,
    });
    return [{ kind: 'send', topic: topics.vehicleAuth(c.vid), payload: c.resultPayload }];
  }

  /** Forgets a result that waits for its commit; returns the connector it held, if it was waiting. */
  abandon(sid: string): number | undefined {
    const c = this.committing.get(sid);
    if (!c) return undefined;
    this.committing.delete(sid);
    return c.connector;
  }

  /** Forgets committed results past their time; returns when the next one is due (Infinity: none). */
  expire(nowMs: number): number {
    // Committed in time order with one lifetime, so in expiry order: stop at the first live entry.
    for (const [sid, c] of this.completed) {
      if (c.expiresAt > nowMs) return c.expiresAt;
      this.completed.delete(sid);
    }
    return Number.POSITIVE_INFINITY;
  }
}
