/**
 * The pile's side of the handshake (PROTOCOL §6) as a pure state machine: payloads in, messages and events
 * out. Clock and randomness are injected; nothing here touches MQTT or disk.
 */

import type { PileControlState } from '../control.js';
import { b64uEncode, tryB64uDecode, utf8ToBytes } from '../crypto/bytes.js';
import { deriveAuthKey, deriveSessionKey, deriveTicketKey } from '../crypto/kdf.js';
import { MacKey, verifyMac } from '../crypto/mac.js';
import { CLOCK_SKEW_SECONDS, type Clock, RANDOM_BYTES, type RandomSource, unixSeconds } from '../ids.js';
import type { OfferBody } from '../messages/bodies.js';
import { parseJsonObject, validateMessage } from '../messages/decode.js';
import { type AuthRequest, PileInbound } from '../messages/wire.js';
import { parseTicket } from '../ticket.js';
import { topics } from '../topics.js';
import { ExpiringSet, WindowCounter } from './memory.js';
import { authError, refuseUnaddressable, rejectRequest } from './pile-replies.js';
import {
  type AuthorizedSession,
  type CompletedHandshake,
  DEFAULT_PILE_LIMITS,
  type PendingHandshake,
  type PileAuthenticatorOptions,
  type PileConnector,
  type PileLimits,
  type PileOutput,
  type PileTariff,
  sameRequest,
} from './pile-types.js';
import { derivePileProof, deriveResultMac, deriveVehicleProof, sealOffer } from './proofs.js';

export * from './pile-types.js';

/** Shared empty result of expire(); never mutated. */
const NOTHING_EXPIRED: PileOutput[] = [];

export class PileAuthenticator {
  readonly pid: string;
  readonly limits: PileLimits;
  private readonly rootKey: Uint8Array;
  private readonly connectors: Map<number, PileConnector>;
  private readonly tariff: PileTariff;
  private readonly control: PileControlState;
  private readonly now: Clock;
  private readonly random: RandomSource;
  private readonly connectorAvailable: (connector: number) => boolean;
  private readonly ticketKeys = new Map<number, MacKey>();
  private readonly pending = new Map<string, PendingHandshake>();
  private readonly completed = new Map<string, CompletedHandshake>();
  private readonly occupied = new Set<number>();
  private readonly replay: ExpiringSet;
  private readonly requestCounter: WindowCounter;
  private readonly failedProofs: WindowCounter;
  private readonly lockedUntil = new Map<string, number>();
  /** earliest time a pending or completed handshake can expire */
  private nextExpiryAt = Number.POSITIVE_INFINITY;

  constructor(options: PileAuthenticatorOptions) {
    this.pid = options.pid;
    this.rootKey = options.rootKey;
    this.connectors = new Map(options.connectors.map((c) => [c.id, c]));
    this.tariff = options.tariff;
    this.control = options.control;
    this.now = options.now;
    this.random = options.random;
    this.connectorAvailable = options.connectorAvailable ?? (() => true);
    this.limits = { ...DEFAULT_PILE_LIMITS, ...options.limits };
    this.replay = new ExpiringSet(this.limits.replayCapacity);
    this.requestCounter = new WindowCounter(
      60_000,
      this.limits.trackedVehicles,
      this.limits.requestsPerVehiclePerMinute,
    );
    this.failedProofs = new WindowCounter(this.limits.lockoutMs, this.limits.trackedVehicles);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Size of every memory that grows with traffic; for bounds checks and metrics. */
  memoryStats(): { pending: number; completed: number; replay: number; vehicles: number; lockouts: number } {
    return {
      pending: this.pending.size,
      completed: this.completed.size,
      replay: this.replay.size,
      vehicles: this.requestCounter.size,
      lockouts: this.lockedUntil.size,
    };
  }

  isOccupied(connector: number): boolean {
    return this.occupied.has(connector);
  }

  /** The gateway frees a connector when its session ends. */
  release(connector: number): void {
    this.occupied.delete(connector);
  }

  /**
   * The gateway could not start an authorised session (its charger refused): forget the auth.result kept for
   * QoS-1 duplicates, so a repeated auth.response is not answered with a result that no longer holds.
   */
  withdraw(sid: string): void {
    this.completed.delete(sid);
  }

  /** The gateway marks a connector taken, e.g. a session restored after restart. */
  occupy(connector: number): void {
    this.occupied.add(connector);
  }

  private ticketKey(off: number): MacKey {
    let tk = this.ticketKeys.get(off);
    if (!tk) {
      tk = new MacKey(deriveTicketKey(this.rootKey, off, this.pid));
      this.ticketKeys.set(off, tk);
    }
    return tk;
  }

  /** Handles one payload from piles/{pid}/auth. Never throws. */
  handle(payload: Uint8Array | string): PileOutput[] {
    try {
      return this.dispatch(payload);
    } catch (error) {
      return [{ kind: 'dropped', reason: `internal: ${(error as Error).message}` }];
    }
  }

  private dispatch(payload: Uint8Array | string): PileOutput[] {
    const json = parseJsonObject(payload);
    if (!json.ok) return refuseUnaddressable(undefined, json.message);
    const message = validateMessage(PileInbound, json.value);
    if (!message.ok) return refuseUnaddressable(json.value, message.message, message.code);
    const m = message.value;
    const nowMs = this.now();
    const expired = this.expire(nowMs);
    let out: PileOutput[];
    switch (m.type) {
      case 'auth.request':
        out = this.onRequest(m, nowMs);
        break;
      case 'auth.response':
        out = this.onResponse(m.sid, m.proof, nowMs);
        break;
      case 'auth.abort':
        out = this.onAbort(m.sid, m.reason);
        break;
      case 'session.stop':
        out = [{ kind: 'stop', message: m }];
        break;
    }
    return expired.length === 0 ? out : [...expired, ...out];
  }

  private onRequest(request: AuthRequest, nowMs: number): PileOutput[] {
    const nowS = unixSeconds(nowMs);

    // QoS 1 may deliver twice: the same request for a pending sid gets the same challenge.
    const existing = this.pending.get(request.sid);
    if (existing) {
      if (sameRequest(existing.request, request)) {
        return [{ kind: 'send', topic: topics.vehicleAuth(request.vid), payload: existing.challengePayload }];
      }
      return rejectRequest(request, 'REPLAY', 'session id is already in use');
    }

    // 2. the ticket
    const parsed = parseTicket(request.ticket);
    if (!parsed.ok) return rejectRequest(request, 'MALFORMED', parsed.message);
    const ticket = parsed.value.body;
    const sidBytes = tryB64uDecode(request.sid, RANDOM_BYTES);
    const r1 = tryB64uDecode(request.r1, RANDOM_BYTES);
    if (!sidBytes || !r1)
      return rejectRequest(request, 'MALFORMED', 'sid and r1 must be 16 bytes of base64url');
    if (request.pid !== this.pid || ticket.pid !== this.pid) {
      return rejectRequest(request, 'WRONG_PILE', `ticket is for pile ${ticket.pid}, this is ${this.pid}`);
    }
    if (ticket.vid !== request.vid)
      return rejectRequest(request, 'WRONG_VEHICLE', 'ticket belongs to another vehicle');
    // 3. validity with 300 s skew
    if (nowS < ticket.nbf - CLOCK_SKEW_SECONDS)
      return rejectRequest(request, 'TICKET_NOT_YET_VALID', 'ticket not yet valid');
    if (nowS > ticket.exp + CLOCK_SKEW_SECONDS)
      return rejectRequest(request, 'TICKET_EXPIRED', 'ticket expired');
    // 4. key offset
    if (!this.control.acceptsOffset(ticket.off)) {
      return rejectRequest(request, 'UNKNOWN_KEY_OFFSET', `key offset ${ticket.off} is not accepted`);
    }
    // 5. revocation
    if (this.control.isRevoked(ticket.tid, nowS)) return rejectRequest(request, 'REVOKED', 'ticket revoked');
    // 6. replay
    const pairKey = `t${ticket.tid}${request.r1}`;
    if (this.replay.has(`s${request.sid}`, nowMs) || this.replay.has(pairKey, nowMs)) {
      return rejectRequest(request, 'REPLAY', 'request seen before');
    }
    // 7. connector
    const connector = this.connectors.get(request.connector);
    if (!connector) return rejectRequest(request, 'UNKNOWN_CONNECTOR', `no connector ${request.connector}`);
    if (
      this.occupied.has(connector.id) ||
      !this.connectorAvailable(connector.id) ||
      this.pendingOnConnectorByOther(connector.id, request.vid)
    ) {
      return rejectRequest(request, 'CONNECTOR_BUSY', `connector ${connector.id} is busy`);
    }
    // 8. limits
    const lockedUntil = this.lockedUntil.get(request.vid);
    if (lockedUntil !== undefined) {
      if (lockedUntil > nowMs)
        return rejectRequest(request, 'RATE_LIMITED', 'too many failed proofs; try later');
      this.lockedUntil.delete(request.vid);
    }
    if (this.requestCounter.hit(request.vid, nowMs) > this.limits.requestsPerVehiclePerMinute) {
      return rejectRequest(request, 'RATE_LIMITED', 'too many requests from this vehicle');
    }
    if (this.pending.size >= this.limits.maxPending) {
      return rejectRequest(request, 'RATE_LIMITED', 'pile is busy with other handshakes');
    }

    const r3 = this.random(RANDOM_BYTES);
    const akBytes = deriveAuthKey(this.ticketKey(ticket.off), parsed.value.bytes);
    const ak = new MacKey(akBytes); // MACs twice: the pile's proof now, the vehicle's proof on auth.response
    const sk = deriveSessionKey(akBytes, r1, r3, sidBytes);
    const proof = derivePileProof(ak, sidBytes, r1, r3, this.pid, request.vid);
    const offer: OfferBody = {
      connector: connector.id,
      maxW: connector.maxW,
      pricePerKWh: this.tariff.pricePerKWh,
      currency: this.tariff.currency,
      expiresAt: nowS + Math.ceil(this.limits.pendingTtlMs / 1000),
    };
    const offerPlaintext = utf8ToBytes(JSON.stringify(offer));
    const sealed = sealOffer(sk, sidBytes, offerPlaintext, this.random(24));
    const challengePayload = JSON.stringify({
      v: 1,
      type: 'auth.challenge',
      sid: request.sid,
      pid: this.pid,
      r3: b64uEncode(r3),
      proof: b64uEncode(proof),
      offer: sealed,
    });
    const validUntilMs = (ticket.exp + CLOCK_SKEW_SECONDS) * 1000;
    this.replay.add(`s${request.sid}`, Math.max(validUntilMs, nowMs + this.limits.pendingTtlMs), nowMs);
    this.replay.add(pairKey, validUntilMs, nowMs);
    this.pending.set(request.sid, {
      sid: request.sid,
      sidBytes,
      vid: request.vid,
      connector: connector.id,
      request,
      r1,
      r3,
      ak,
      sk,
      ticket,
      offer,
      offerPlaintext,
      challengePayload,
      expiresAt: nowMs + this.limits.pendingTtlMs,
    });
    this.noteExpiry(nowMs + this.limits.pendingTtlMs);
    return [
      { kind: 'send', topic: topics.vehicleAuth(request.vid), payload: challengePayload },
      { kind: 'challenged', sid: request.sid, vid: request.vid, connector: connector.id },
    ];
  }

  private pendingOnConnectorByOther(connector: number, vid: string): boolean {
    for (const p of this.pending.values()) {
      if (p.connector === connector && p.vid !== vid) return true;
    }
    return false;
  }

  private onResponse(sid: string, proofText: string, nowMs: number): PileOutput[] {
    const done = this.completed.get(sid);
    if (done) {
      // A QoS-1 duplicate of a response that already succeeded gets the same result.
      if (done.proof === proofText)
        return [{ kind: 'send', topic: topics.vehicleAuth(done.vid), payload: done.resultPayload }];
      return [{ kind: 'dropped', reason: 'response for a completed handshake' }];
    }
    const p = this.pending.get(sid);
    if (!p) return [{ kind: 'dropped', reason: 'response for no pending handshake' }];
    const expected = deriveVehicleProof(p.ak, p.sidBytes, p.r1, p.r3, p.vid, this.pid, p.offerPlaintext);
    this.pending.delete(sid);
    if (!verifyMac(expected, tryB64uDecode(proofText, 32))) {
      if (this.failedProofs.hit(p.vid, nowMs) >= this.limits.failedProofsBeforeLockout) {
        this.lockedUntil.set(p.vid, nowMs + this.limits.lockoutMs);
        this.failedProofs.reset(p.vid);
      }
      const message = 'vehicle proof does not verify';
      return [
        authError(p.vid, sid, 'BAD_PROOF', message, p),
        { kind: 'rejected', code: 'BAD_PROOF', sid, vid: p.vid, message },
      ];
    }
    const resultPayload = JSON.stringify({
      v: 1,
      type: 'auth.result',
      sid,
      ok: true,
      mac: b64uEncode(deriveResultMac(p.sk, p.sidBytes)),
    });
    this.completed.set(sid, {
      vid: p.vid,
      proof: proofText,
      resultPayload,
      expiresAt: nowMs + this.limits.pendingTtlMs,
    });
    this.noteExpiry(nowMs + this.limits.pendingTtlMs);
    this.occupied.add(p.connector);
    const session: AuthorizedSession = {
      sid,
      vid: p.vid,
      pid: this.pid,
      connector: p.connector,
      sk: p.sk,
      tid: p.ticket.tid,
      offer: p.offer,
      authorizedAt: nowMs,
    };
    if (p.ticket.maxWh !== undefined) session.maxWh = p.ticket.maxWh;
    return [
      { kind: 'authorized', session },
      { kind: 'send', topic: topics.vehicleAuth(p.vid), payload: resultPayload },
    ];
  }

  private onAbort(sid: string, reason: string): PileOutput[] {
    const p = this.pending.get(sid);
    if (!p) return [{ kind: 'dropped', reason: 'abort for no pending handshake' }];
    this.pending.delete(sid);
    return [{ kind: 'aborted', sid, vid: p.vid, reason }];
  }

  /** Forgets challenges older than the pending TTL, telling each vehicle with a MACed TIMEOUT. */
  tick(): PileOutput[] {
    return this.expire(this.now());
  }

  private expire(nowMs: number): PileOutput[] {
    // Nothing can be due before the earliest expiry we know of: skip the scan (a hot-path cost otherwise,
    // since Map iteration also walks the slots of deleted entries).
    if (nowMs < this.nextExpiryAt) return NOTHING_EXPIRED;
    // Both maps are in insertion order with one TTL, so expiry order: stop at the first live entry.
    const out: PileOutput[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.pending.values()) {
      if (p.expiresAt > nowMs) {
        next = p.expiresAt;
        break;
      }
      this.pending.delete(p.sid);
      out.push(authError(p.vid, p.sid, 'TIMEOUT', 'no auth.response in time', p));
      out.push({ kind: 'expired', sid: p.sid, vid: p.vid });
    }
    for (const [sid, c] of this.completed) {
      if (c.expiresAt > nowMs) {
        next = Math.min(next, c.expiresAt);
        break;
      }
      this.completed.delete(sid);
    }
    this.nextExpiryAt = next;
    return out;
  }

  private noteExpiry(expiresAt: number): void {
    if (expiresAt < this.nextExpiryAt) this.nextExpiryAt = expiresAt;
  }
}
