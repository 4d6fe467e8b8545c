/**
 * The messages a vehicle MACs under AK before the pile has proven anything (PROTOCOL §6, revision 2): auth.request
 * and auth.abort, built here and checked here, so both sides frame them the same way.
 */

import { b64uEncode, tryB64uDecode } from '../crypto/bytes.js';
import { type MacKeyInput, verifyMac } from '../crypto/mac.js';
import type { AuthAbort, AuthRequest } from '../messages/wire.js';
import { deriveAbortMac, deriveRequestMac } from './proofs.js';

export interface AuthRequestFields {
  /** the 16 raw bytes of sid and r1; they travel as base64url */
  sid: Uint8Array;
  r1: Uint8Array;
  vid: string;
  pid: string;
  connector: number;
  /** b64u(T), as the credential carries it */
  ticket: string;
  ts: number;
}

/** An auth.request with its mac under AK, fields in the order PROTOCOL §6 writes them. */
export function buildAuthRequest(ak: MacKeyInput, f: AuthRequestFields): AuthRequest {
  return {
    v: 1,
    type: 'auth.request',
    sid: b64uEncode(f.sid),
    vid: f.vid,
    pid: f.pid,
    connector: f.connector,
    ticket: f.ticket,
    r1: b64uEncode(f.r1),
    ts: f.ts,
    mac: b64uEncode(deriveRequestMac(ak, f.sid, f.r1, f.vid, f.pid, f.connector, f.ts)),
  };
}

/** Whether a request's mac is present and verifies under AK (step 5); sid and r1 already decoded. */
export function verifyRequestMac(
  ak: MacKeyInput,
  request: AuthRequest,
  sid: Uint8Array,
  r1: Uint8Array,
): boolean {
  if (request.mac === undefined) return false;
  const expected = deriveRequestMac(ak, sid, r1, request.vid, request.pid, request.connector, request.ts);
  return verifyMac(expected, tryB64uDecode(request.mac, 32));
}

/** An auth.abort with its mac under AK: the pile ends the pending handshake only with a valid one. */
export function buildAuthAbort(ak: MacKeyInput, sid: Uint8Array, reason: string): AuthAbort {
  return {
    v: 1,
    type: 'auth.abort',
    sid: b64uEncode(sid),
    reason,
    mac: b64uEncode(deriveAbortMac(ak, sid, reason)),
  };
}

/** Whether an abort's mac is present and verifies under the pending handshake's AK. */
export function verifyAbortMac(ak: MacKeyInput, sid: Uint8Array, abort: AuthAbort): boolean {
  if (abort.mac === undefined) return false;
  return verifyMac(deriveAbortMac(ak, sid, abort.reason), tryB64uDecode(abort.mac, 32));
}
