/** The vocabulary of the pile's side: connectors, tariff, limits and what the authenticator emits. */

import type { PileControlState } from '../control.js';
import type { MacKey } from '../crypto/mac.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Clock, RandomSource } from '../ids.js';
import type { OfferBody, TicketBody } from '../messages/bodies.js';
import type { AuthRequest, SessionStop } from '../messages/wire.js';

export interface PileConnector {
  id: number;
  maxW: number;
}

export interface PileTariff {
  /** decimal string, e.g. "0.39" */
  pricePerKWh: string;
  currency: string;
}

export interface PileLimits {
  /** handshakes awaiting auth.response at once, per pile */
  maxPending: number;
  /** auth.request messages per vehicle per minute */
  requestsPerVehiclePerMinute: number;
  /** failed proofs (BAD_PROOF) before a vehicle is locked out */
  failedProofsBeforeLockout: number;
  lockoutMs: number;
  /** how long a challenge stays answerable (PROTOCOL §6: 10 s) */
  pendingTtlMs: number;
  /** entries the replay memory holds at most */
  replayCapacity: number;
  /** vehicles the rate counters track at most */
  trackedVehicles: number;
}

export const DEFAULT_PILE_LIMITS: PileLimits = {
  maxPending: 16,
  requestsPerVehiclePerMinute: 20,
  failedProofsBeforeLockout: 3,
  lockoutMs: 5 * 60_000,
  pendingTtlMs: 10_000,
  replayCapacity: 50_000,
  trackedVehicles: 10_000,
};

/** What the gateway receives once a vehicle has proven it holds AK. */
export interface AuthorizedSession {
  sid: string;
  vid: string;
  pid: string;
  connector: number;
  /** session key SK */
  sk: Uint8Array;
  tid: string;
  maxWh?: number;
  offer: OfferBody;
  authorizedAt: number;
}

export type PileOutput =
  | { kind: 'send'; topic: string; payload: string }
  /** revision 1: a request without mac, let through by the migration switch (PROTOCOL §6) */
  | { kind: 'challenged'; sid: string; vid: string; connector: number; revision: 1 | 2 }
  /** the vehicle proved itself: the gateway opens the session, then calls commit(sid) or abandon(sid) */
  | { kind: 'authorized'; session: AuthorizedSession }
  | { kind: 'rejected'; code: ErrorCode; sid?: string; vid?: string; message: string }
  | { kind: 'aborted'; sid: string; vid: string; reason: string }
  | { kind: 'expired'; sid: string; vid: string }
  | { kind: 'stop'; message: SessionStop }
  | { kind: 'dropped'; reason: string };

/** A challenge sent and not yet answered. */
export interface PendingHandshake {
  sid: string;
  sidBytes: Uint8Array;
  vid: string;
  connector: number;
  request: AuthRequest;
  r1: Uint8Array;
  r3: Uint8Array;
  ak: MacKey;
  sk: Uint8Array;
  ticket: TicketBody;
  offer: OfferBody;
  offerPlaintext: Uint8Array;
  challengePayload: string;
  /** the key its limits and lockout count under: the vid (revision 2), or the vid marked as revision 1 */
  limitKey: string;
  expiresAt: number;
}

/**
 * What a pile counts of what it refused or let through (PROTOCOL §6: the per-pile counter of refused requests).
 * Fixed keys, so bounded whatever arrives.
 */
export interface PileCounters {
  /** payloads refused at step 1 and auth.requests refused at steps 2-9, by code */
  refused: Record<ErrorCode, number>;
  /** auth.abort that ended nothing: no pending handshake, or no valid mac */
  abortsIgnored: number;
  /** revision-1 requests (no mac) let through by the migration switch: how many such vehicles remain */
  revision1Accepted: number;
}

export function newPileCounters(): PileCounters {
  const refused = Object.fromEntries(ERROR_CODES.map((code) => [code, 0])) as Record<ErrorCode, number>;
  return { refused, abortsIgnored: 0, revision1Accepted: 0 };
}

/** Size of every memory of a pile that grows with traffic. */
export interface PileMemoryStats {
  pending: number;
  /** proved handshakes waiting for the gateway's commit or abandon */
  committing: number;
  completed: number;
  replay: number;
  /** vehicles (limit keys) with a request count this minute */
  vehicles: number;
  /** vehicles with failed proofs counting toward lockout */
  failedProofs: number;
  lockouts: number;
}

/** A handshake whose vehicle proved itself, until the gateway commits or abandons its session. */
export interface CommittingHandshake {
  vid: string;
  connector: number;
  proof: string;
  resultPayload: string;
}

/** A handshake that succeeded and was committed, kept briefly to answer a duplicate response. */
export interface CompletedHandshake extends Omit<CommittingHandshake, 'connector'> {
  expiresAt: number;
}

export interface PileAuthenticatorOptions {
  pid: string;
  rootKey: Uint8Array;
  connectors: readonly PileConnector[];
  tariff: PileTariff;
  control: PileControlState;
  now: Clock;
  random: RandomSource;
  limits?: Partial<PileLimits>;
  /** Whether the charger can take a vehicle on this connector now (plugged-in checks, faults). */
  connectorAvailable?: (connector: number) => boolean;
  /**
   * Why this vehicle may not open another session here now (it already holds as many as the operator allows),
   * or undefined: checked with the limits of step 9, so only for a request that is the vehicle's own.
   */
  vehicleSessionRefusal?: (vid: string) => string | undefined;
  /**
   * The migration switch of PROTOCOL §6: accept auth.requests without mac (revision 1) instead of refusing them
   * with BAD_REQUEST_MAC. Off by default; such requests are counted (PileCounters.revision1Accepted).
   */
  acceptRevision1Requests?: boolean;
}

/** Whether two requests for one sid carry the same content, mac included (a QoS-1 duplicate). */
export function sameRequest(a: AuthRequest, b: AuthRequest): boolean {
  return (
    a.mac === b.mac &&
    a.vid === b.vid &&
    a.pid === b.pid &&
    a.connector === b.connector &&
    a.ticket === b.ticket &&
    a.r1 === b.r1 &&
    a.ts === b.ts
  );
}
