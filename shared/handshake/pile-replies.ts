/** The pile's error replies (PROTOCOL §6): auth.error, MACed once SK exists, and what a refusal emits. */
import { b64uEncode } from '../crypto/bytes.js';
import type { ErrorCode } from '../errors.js';
import { isValidId } from '../ids.js';
import type { AuthRequest } from '../messages/wire.js';
import { topics } from '../topics.js';
import type { PileOutput } from './pile-types.js';
import { deriveErrorMac } from './proofs.js';

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
