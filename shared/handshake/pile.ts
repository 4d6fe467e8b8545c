/**
 * The pile's side of the handshake (PROTOCOL §6) as a pure state machine: payloads in, messages and events
 * out. Clock and randomness are injected; nothing here touches MQTT or disk.
 */

import type { PileControlState } from '../control.js';
import { b64uEncode, tryB64uDecode } from '../crypto/bytes.js';
import { deriveSessionKey, deriveTicketKey } from '../crypto/kdf.js';
import { MacKey, verifyMac } from '../crypto/mac.js';
import type { ErrorCode } from '../errors.js';
import { CLOCK_SKEW_SECONDS, type Clock, RANDOM_BYTES, type RandomSource, unixSeconds } from '../ids.js';
import type { OfferBody } from '../messages/bodies.js';
import { parseJsonObject, validateMessage } from '../messages/decode.js';
import { type AuthAbort, type AuthRequest, PileInbound } from '../messages/wire.js';
import { topics } from '../topics.js';
import { ExpiringSet, VehicleLimits, type VehicleStanding } from './memory.js';
import { authError, buildChallenge, refuseUnaddressable, rejectRequest } from './pile-replies.js';
import {
  type AuthorizedSession,
  DEFAULT_PILE_LIMITS,
  newPileCounters,
  type PendingHandshake,
  type PileAuthenticatorOptions,
  type PileConnector,
  type PileCounters,
  type PileLimits,
  type PileMemoryStats,
  type PileOutput,
  type PileTariff,
  sameRequest,
} from './pile-types.js';
import { deriveResultMac, deriveVehicleProof } from './proofs.js';
import { authenticateRequest, type RequestCheckContext } from './request-checks.js';
import { HandshakeResults } from './results.js';
import { verifyAbortMac } from './vehicle-messages.js';

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
  private readonly vehicleSessionRefusal: (vid: string) => string | undefined;
  private readonly ticketKeys = new Map<number, MacKey>();
  private readonly pending = new Map<string, PendingHandshake>();
  private readonly results: HandshakeResults;
  private readonly occupied = new Set<number>();
  private readonly replay: ExpiringSet;
  private readonly vehicleLimits: VehicleLimits;
  private readonly requestChecks: RequestCheckContext;
  /** the per-pile counts of PROTOCOL §6: the only trace a refused request leaves */
  private readonly counters: PileCounters = newPileCounters();
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
    this.vehicleSessionRefusal = options.vehicleSessionRefusal ?? (() => undefined);
    this.limits = { ...DEFAULT_PILE_LIMITS, ...options.limits };
    this.results = new HandshakeResults(this.limits.pendingTtlMs);
    this.replay = new ExpiringSet(this.limits.replayCapacity);
    this.vehicleLimits = new VehicleLimits(this.limits);
    this.requestChecks = {
      pid: this.pid,
      control: this.control,
      ticketKey: (off) => this.ticketKey(off),
      acceptRevision1Requests: options.acceptRevision1Requests ?? false,
    };
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Size of every memory that grows with traffic; for bounds checks and metrics. */
  memoryStats(): PileMemoryStats {
    return {
      pending: this.pending.size,
      committing: this.results.committingCount,
      completed: this.results.completedCount,
      replay: this.replay.size,
      ...this.vehicleLimits.sizes,
    };
  }

  /** What this pile holds against a vehicle's (revision-2) requests now: for operators and tests. */
  standingOf(vid: string): VehicleStanding {
    return this.vehicleLimits.standing(vid, this.now());
  }

  /** What this pile refused and let through, by kind: a copy, for the gateway's metrics and for tests. */
  counts(): PileCounters {
    return { ...this.counters, refused: { ...this.counters.refused } };
  }

  isOccupied(connector: number): boolean {
    return this.occupied.has(connector);
  }

  /** The gateway frees a connector when its session ends. */
  release(connector: number): void {
    this.occupied.delete(connector);
  }

  /**
   * The commit point of an `authorized` session: the gateway has stored its record and its charger accepted, so
   * its auth.result may go out now (returned as a `send`). From here a QoS-1 duplicate of the auth.response
   * gets the same result. Nothing for a sid that is not waiting (unknown, already committed or abandoned).
   */
  commit(sid: string): PileOutput[] {
    const nowMs = this.now();
    const out = this.results.commit(sid, nowMs);
    if (out.length > 0) this.noteExpiry(nowMs + this.limits.pendingTtlMs);
    return out;
  }

  /**
   * The gateway could not start an `authorized` session (no durable record, the charger refused): its
   * auth.result never goes out, a repeated auth.response gets nothing, and the connector is free again.
   * Returns whether the sid was waiting for its commit.
   */
  abandon(sid: string): boolean {
    const connector = this.results.abandon(sid);
    if (connector === undefined) return false;
    this.occupied.delete(connector);
    return true;
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
    if (!message.ok) {
      // 1. version, then shape: counted per pile whether or not the payload names someone to answer.
      this.counters.refused[message.code] += 1;
      return refuseUnaddressable(json.value, message.message, message.code);
    }
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
        out = this.onAbort(m);
        break;
      case 'session.stop':
        out = [{ kind: 'stop', message: m }];
        break;
    }
    return expired.length === 0 ? out : [...expired, ...out];
  }

  private onRequest(request: AuthRequest, nowMs: number): PileOutput[] {
    const nowS = unixSeconds(nowMs);

    // QoS 1 may deliver twice: the same request (mac included) for a pending sid gets the same challenge. Only
    // an exact copy of one that passed step 5 matches; anything else under that sid goes through the checks.
    const existing = this.pending.get(request.sid);
    if (existing && sameRequest(existing.request, request)) {
      return [{ kind: 'send', topic: topics.vehicleAuth(request.vid), payload: existing.challengePayload }];
    }

    // 2-5: ticket, validity, key offset, the request's mac. Until it passes, nothing of it is kept.
    const checked = authenticateRequest(request, nowS, this.requestChecks);
    if (!checked.ok) return this.refuse(request, checked.code, checked.message);
    const { ticket, sidBytes, r1, akBytes, ak, revision, limitKey } = checked.value;
    // 6. revocation
    if (this.control.isRevoked(ticket, nowS)) return this.refuse(request, 'REVOKED', 'ticket revoked');
    // 7. replay
    const pairKey = `t${ticket.tid}${request.r1}`;
    if (existing || this.replay.has(`s${request.sid}`, nowMs) || this.replay.has(pairKey, nowMs)) {
      return this.refuse(request, 'REPLAY', 'request seen before');
    }
    // 8. connector
    const connector = this.connectors.get(request.connector);
    if (!connector) return this.refuse(request, 'UNKNOWN_CONNECTOR', `no connector ${request.connector}`);
    if (
      this.occupied.has(connector.id) ||
      !this.connectorAvailable(connector.id) ||
      this.pendingOnConnectorByOther(connector.id, request.vid)
    ) {
      return this.refuse(request, 'CONNECTOR_BUSY', `connector ${connector.id} is busy`);
    }
    // 9. limits, counted only now that the request is the named vehicle's own
    if (this.vehicleLimits.isLockedOut(limitKey, nowMs)) {
      return this.refuse(request, 'RATE_LIMITED', 'too many failed proofs; try later');
    }
    const holding = this.vehicleSessionRefusal(request.vid);
    if (holding !== undefined) return this.refuse(request, 'RATE_LIMITED', holding);
    if (!this.vehicleLimits.admitRequest(limitKey, nowMs)) {
      return this.refuse(request, 'RATE_LIMITED', 'too many requests from this vehicle');
    }
    if (this.pending.size >= this.limits.maxPending) {
      return this.refuse(request, 'RATE_LIMITED', 'pile is busy with other handshakes');
    }
    if (revision === 1) this.counters.revision1Accepted += 1;

    const r3 = this.random(RANDOM_BYTES);
    const sk = deriveSessionKey(akBytes, r1, r3, sidBytes);
    const offer: OfferBody = {
      connector: connector.id,
      maxW: connector.maxW,
      pricePerKWh: this.tariff.pricePerKWh,
      currency: this.tariff.currency,
      expiresAt: nowS + Math.ceil(this.limits.pendingTtlMs / 1000),
    };
    const { challengePayload, offerPlaintext } = buildChallenge({
      sid: request.sid,
      sidBytes,
      r1,
      r3,
      ak,
      sk,
      pid: this.pid,
      vid: request.vid,
      offer,
      nonce: this.random(24),
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
      limitKey,
      expiresAt: nowMs + this.limits.pendingTtlMs,
    });
    this.noteExpiry(nowMs + this.limits.pendingTtlMs);
    return [
      { kind: 'send', topic: topics.vehicleAuth(request.vid), payload: challengePayload },
      { kind: 'challenged', sid: request.sid, vid: request.vid, connector: connector.id, revision },
    ];
  }

  private pendingOnConnectorByOther(connector: number, vid: string): boolean {
    for (const p of this.pending.values()) {
      if (p.connector === connector && p.vid !== vid) return true;
    }
    return false;
  }

  private onResponse(sid: string, proofText: string, nowMs: number): PileOutput[] {
    // A QoS-1 duplicate of a response that already succeeded gets the same result (once committed).
    const repeated = this.results.repeat(sid, proofText);
    if (repeated) return repeated;
    const p = this.pending.get(sid);
    if (!p) return [{ kind: 'dropped', reason: 'response for no pending handshake' }];
    const expected = deriveVehicleProof(p.ak, p.sidBytes, p.r1, p.r3, p.vid, this.pid, p.offerPlaintext);
    this.pending.delete(sid);
    if (!verifyMac(expected, tryB64uDecode(proofText, 32))) {
      // counted under the key its request was limited by (step 9)
      this.vehicleLimits.countFailedProof(p.limitKey, nowMs);
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
    // Not sent yet: the gateway commits (or abandons) the session first.
    this.results.hold(sid, { vid: p.vid, connector: p.connector, proof: proofText, resultPayload });
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
    return [{ kind: 'authorized', session }];
  }

  /** Ends a pending handshake only on an abort MACed under its AK; any other is counted and ignored. */
  private onAbort(abort: AuthAbort): PileOutput[] {
    const p = this.pending.get(abort.sid);
    if (!p) {
      this.counters.abortsIgnored += 1;
      return [{ kind: 'dropped', reason: 'abort for no pending handshake' }];
    }
    if (!verifyAbortMac(p.ak, p.sidBytes, abort)) {
      this.counters.abortsIgnored += 1;
      return [{ kind: 'dropped', reason: 'abort without a valid mac' }];
    }
    this.pending.delete(abort.sid);
    return [{ kind: 'aborted', sid: abort.sid, vid: p.vid, reason: abort.reason }];
  }

  /** A request refused at one of the steps 2-9: answered, and counted per pile by code (nothing per vehicle). */
  private refuse(request: AuthRequest, code: ErrorCode, message: string): PileOutput[] {
    this.counters.refused[code] += 1;
    return rejectRequest(request, code, message);
  }

  /** Forgets challenges older than the pending TTL, telling each vehicle with a MACed TIMEOUT. */
  tick(): PileOutput[] {
    return this.expire(this.now());
  }

  private expire(nowMs: number): PileOutput[] {
    // Nothing can be due before the earliest expiry we know of: skip the scan (a hot-path cost otherwise,
    // since Map iteration also walks the slots of deleted entries).
    if (nowMs < this.nextExpiryAt) return NOTHING_EXPIRED;
    // Pending handshakes (and committed results) are in insertion order with one TTL: stop at the first live one.
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
    this.nextExpiryAt = Math.min(next, this.results.expire(nowMs));
    return out;
  }

  private noteExpiry(expiresAt: number): void {
    if (expiresAt < this.nextExpiryAt) this.nextExpiryAt = expiresAt;
  }
}
