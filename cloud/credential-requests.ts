/**
 * credential.request (PROTOCOL §5), as one path: parse → the vehicle is known → its MAC verifies → the clock
 * agrees → the vehicle is within its rate → the nonce is new → a grant covers the pile → resend or issue.
 *
 * Nothing unauthenticated costs the vehicle a request names anything: until the MAC has verified, a request is
 * only counted and dropped (never answered on the named vehicle's topic, never written, never counted against
 * its rate). An authenticated request that fails a later step is answered with credential.denied and its code.
 */
import {
  CLOCK_SKEW_SECONDS,
  type CredentialDenialCode,
  CredentialRequest,
  decodeMessage,
  deriveVehicleMacKey,
  fail,
  ok,
  type Result,
  topics,
  unixSeconds,
  verifyCredentialRequest,
  WindowCounter,
} from '../shared/index.js';
import { entitlement } from './grants.js';
import { answersVehicle, type InstanceShare } from './instances.js';
import { type IssuerOptions, issueCredential, stillUsable } from './issuer.js';
import { IssuingKeys } from './issuing-keys.js';
import type { CloudData } from './registry.js';
import type { CloudTx } from './store/cloud-store.js';

export interface Outbound {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Why a request was dropped unanswered: it could not be shown to come from the vehicle it names. */
export type DropReason = 'MALFORMED' | 'UNSUPPORTED_VERSION' | 'UNKNOWN_VEHICLE' | 'BAD_MAC';

export type RequestOutcome =
  | { kind: 'issued'; vid: string; pid: string; tid: string }
  | { kind: 'resent'; vid: string; pid: string; tid: string; message: Outbound }
  | {
      kind: 'denied';
      vid: string;
      pid: string;
      code: CredentialDenialCode;
      message: Outbound;
      /** for INTERNAL: what went wrong (logged, never sent) */
      error?: unknown;
    }
  | { kind: 'dropped'; reason: DropReason; detail: string }
  /** the vehicle's requests are another cloud instance's to answer (cloud/instances.ts) */
  | { kind: 'elsewhere' };

/** Requests per vehicle per minute before RATE_LIMITED. */
export const REQUESTS_PER_VEHICLE_PER_MINUTE = 20;
/** Vehicles whose request rate is tracked at once; past it the least recent within their rate are forgotten. */
const TRACKED_VEHICLES = 100_000;

/** Authenticated requests per vehicle per minute. */
export class RequestLimiter {
  private readonly counter = new WindowCounter(60_000, TRACKED_VEHICLES, REQUESTS_PER_VEHICLE_PER_MINUTE);

  allow(vid: string, nowMs: number): boolean {
    return this.counter.hit(vid, nowMs) <= REQUESTS_PER_VEHICLE_PER_MINUTE;
  }
}

export interface CredentialRequestContext {
  data: CloudData;
  limiter: RequestLimiter;
  issuer: IssuerOptions;
  /** this instance's share of the vehicles, when several instances share the registry */
  share?: InstanceShare;
}

const dropped = (reason: DropReason, detail: string): RequestOutcome => ({ kind: 'dropped', reason, detail });

type Denial = Extract<RequestOutcome, { kind: 'denied' }>;

function denied(request: CredentialRequest, code: CredentialDenialCode): Denial {
  const { vid, pid } = request;
  return {
    kind: 'denied',
    vid,
    pid,
    code,
    message: {
      topic: topics.vehicleCloud(vid),
      payload: JSON.stringify({ v: 1, type: 'credential.denied', pid, code }),
      retain: false,
    },
  };
}

/** The request's MAC under the vehicle's VMK: the request was made by a holder of the named vehicle's key. */
async function authenticate(
  data: CloudData,
  request: CredentialRequest,
): Promise<Result<true, 'UNKNOWN_VEHICLE' | 'BAD_MAC'>> {
  const vehicle = await data.store.read((tx) => tx.vehicle(request.vid));
  if (!vehicle || vehicle.revoked_at !== null) return fail('UNKNOWN_VEHICLE', 'no such vehicle, or revoked');
  const vehicleKey = data.masterKey.openVehicleKey(vehicle.vid, vehicle.vehicle_key_sealed);
  const vmk = deriveVehicleMacKey(vehicleKey, vehicle.vid);
  vehicleKey.fill(0);
  const verified = verifyCredentialRequest(vmk, request);
  vmk.fill(0);
  return verified ? ok(true) : fail('BAD_MAC', 'MAC does not verify under the vehicle key');
}

/** The vehicle's clock and ours agree within PROTOCOL §5's skew. */
function withinClockSkew(request: CredentialRequest, now: number): boolean {
  return Math.abs(now - request.ts) <= CLOCK_SKEW_SECONDS;
}

/**
 * The authenticated request's unit of work: remember its nonce (a replay stops here), find the grant, and hand
 * out the current credential if it is still good or issue a new one.
 */
async function grantCredential(
  tx: CloudTx,
  context: CredentialRequestContext,
  request: CredentialRequest,
  now: number,
): Promise<RequestOutcome> {
  const { vid, pid } = request;
  if (!(await tx.rememberNonce(vid, request.nonce, now))) return denied(request, 'REPLAY');
  const pile = await tx.lockPile(pid);
  const grant = pile && entitlement(await tx.activeGrants(vid, now), pile);
  if (!pile || !grant) return denied(request, 'NOT_ENTITLED');
  const current = await tx.latestTicket(vid, pid);
  if (stillUsable(current, pile, now)) {
    const message = { topic: topics.credential(vid, pid), payload: current.sealed, retain: true };
    return { kind: 'resent', vid, pid, tid: current.tid, message };
  }
  const keys = new IssuingKeys(context.data.masterKey);
  try {
    const issued = await issueCredential(tx, keys, vid, pile, grant, now, context.issuer);
    return { kind: 'issued', vid, pid, tid: issued.tid };
  } finally {
    keys.forget();
  }
}

/** Answers one credential.request payload: the outcome says what to publish, if anything (module comment). */
export async function answerCredentialRequest(
  context: CredentialRequestContext,
  payload: Uint8Array,
  nowMs: number,
): Promise<RequestOutcome> {
  const decoded = decodeMessage(CredentialRequest, payload);
  if (!decoded.ok) return dropped(decoded.code, decoded.message);
  const request = decoded.value;
  if (!answersVehicle(context.share, request.vid)) return { kind: 'elsewhere' };
  const authentic = await authenticate(context.data, request);
  if (!authentic.ok) return dropped(authentic.code, authentic.message);
  const now = unixSeconds(nowMs);
  if (!withinClockSkew(request, now)) return denied(request, 'STALE');
  if (!context.limiter.allow(request.vid, nowMs)) return denied(request, 'RATE_LIMITED');
  try {
    return await context.data.store.transaction((tx) => grantCredential(tx, context, request, now));
  } catch (error) {
    return { ...denied(request, 'INTERNAL'), error };
  }
}
