/**
 * The pile's replies (PROTOCOL §6): the auth.challenge, auth.error (MACed once SK exists), and what a refusal
 * emits.
 */
import { b64uEncode, utf8ToBytes } from '../crypto/bytes.js';
import type { MacKeyInput } from '../crypto/mac.js';
import type { ErrorCode } from '../errors.js';
import { isValidId } from '../ids.js';
import type { OfferBody } from '../messages/bodies.js';
import type { AuthRequest } from '../messages/wire.js';
import { topics } from '../topics.js';
import type { PileOutput } from './pile-types.js';
import { deriveErrorMac, derivePileProof, sealOffer } from './proofs.js';

/** The auth.challenge for a request that passed every check: r3, the pile's proof, and the offer sealed under SK. */
export function buildChallenge(c: {
  sid: string;
  sidBytes: Uint8Array;
  r1: Uint8Array;
  r3: Uint8Array;
  ak: MacKeyInput;
  sk: Uint8Array;
  pid: string;
  vid: string;
  offer: OfferBody;
  nonce: Uint8Array;
}): { challengePayload: string; offerPlaintext: Uint8Array } {
  const proof = derivePileProof(c.ak, c.sidBytes, c.r1, c.r3, c.pid, c.vid);
  const offerPlaintext = utf8ToBytes(JSON.stringify(c.offer));
  const challengePayload = JSON.stringify({
    v: 1,
    type: 'auth.challenge',
    sid: c.sid,
    pid: c.pid,
    r3: b64uEncode(c.r3),
    proof: b64uEncode(proof),
    offer: sealOffer(c.sk, c.sidBytes, offerPlaintext, c.nonce),
  });
  return { challengePayload, offerPlaintext };
}

/** auth.error to the vehicle; with the session keys it carries MAC(SK, "evauth/v1/error", sid, code). */
export function authError(
  vid: string,
  sid: string,
  code: ErrorCode,
  message: string,
  keys?: { sk: Uint8Array; sidBytes: Uint8Array },
): PileOutput {
  const error: Record<string, unknown> = { v: 1, type: 'auth.error', sid, code, message };
  if (keys) error.mac = b64uEncode(deriveErrorMac(keys.sk, keys.sidBytes, code));
  return { kind: 'send', topic: topics.vehicleAuth(vid), payload: JSON.stringify(error) };
}

/** A well-formed request refused by one of the checks 2-8. */
export function rejectRequest(request: AuthRequest, code: ErrorCode, message: string): PileOutput[] {
  return [
    authError(request.vid, request.sid, code, message),
    { kind: 'rejected', code, sid: request.sid, vid: request.vid, message },
  ];
}

/**
 * A message that failed the shape check. If it still names a vehicle (an auth.request with a usable vid), answer
 * MALFORMED / UNSUPPORTED_VERSION; otherwise drop it and count it (PROTOCOL §6).
 */
export function refuseUnaddressable(
  value: Record<string, unknown> | undefined,
  reason: string,
  code: 'MALFORMED' | 'UNSUPPORTED_VERSION' = 'MALFORMED',
): PileOutput[] {
  const vid = value?.vid;
  const sid = value?.sid;
  if (value?.type === 'auth.request' && isValidId(vid)) {
    const sidText = typeof sid === 'string' && sid.length <= 64 ? sid : '';
    return [authError(vid, sidText, code, reason), { kind: 'rejected', code, vid, message: reason }];
  }
  return [{ kind: 'dropped', reason }];
}
