/** The vocabulary of the pile's side: connectors, tariff, limits and what the authenticator emits. */

import type { PileControlState } from '../control.js';
import type { MacKey } from '../crypto/mac.js';
import type { ErrorCode } from '../errors.js';
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
  | { kind: 'challenged'; sid: string; vid: string; connector: number }
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
  expiresAt: number;
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
}

/** Whether two requests for one sid carry the same content (a QoS-1 duplicate). */
export function sameRequest(a: AuthRequest, b: AuthRequest): boolean {
  return (
    a.vid === b.vid &&
    a.pid === b.pid &&
    a.connector === b.connector &&
    a.ticket === b.ticket &&
    a.r1 === b.r1 &&
    a.ts === b.ts
  );
}
