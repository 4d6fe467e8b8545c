/**
 * Steps 2-5 of the pile's checks of an auth.request (PROTOCOL §6, revision 2): the ticket, its validity, its key
 * offset and the request's mac under the AK derived from it. Pure and read-only: a request refused here has left
 * nothing behind in the pile, which is what lets no one spend another vehicle's limits (steps 6-9 are the pile's).
 */

import type { PileControlState } from '../control.js';
import { tryB64uDecode } from '../crypto/bytes.js';
import { deriveAuthKey } from '../crypto/kdf.js';
import { MacKey } from '../crypto/mac.js';
import { type ErrorCode, fail, ok, type Result } from '../errors.js';
import { CLOCK_SKEW_SECONDS, RANDOM_BYTES } from '../ids.js';
import type { TicketBody } from '../messages/bodies.js';
import type { AuthRequest } from '../messages/wire.js';
import { parseTicket } from '../ticket.js';
import { verifyRequestMac } from './vehicle-messages.js';

/** A request that passed step 5: its sender holds AK (or it is a revision-1 request the operator lets in). */
export interface AuthenticatedRequest {
  ticket: TicketBody;
  sidBytes: Uint8Array;
  r1: Uint8Array;
  akBytes: Uint8Array;
  /** AK, keyed once: it MACs the request, the pile's proof and the vehicle's */
  ak: MacKey;
  /** 2: its mac verified; 1: a revision-1 request without mac, let through by the migration switch */
  revision: 1 | 2;
  /**
   * What its limits and lockout count under (step 9): the vid; for a revision-1 request, which proves nothing
   * of its sender, the vid marked apart, so forged ones in a vehicle's name (possible while the migration switch
   * is on) never cost that vehicle's revision-2 requests.
   */
  limitKey: string;
}

/** Marks the limit key of a revision-1 request (a vid never contains NUL, PROTOCOL §1). */
const REVISION_1_SUFFIX = '\u0000rev1';

/** What the checks need of the pile; one object per pile, made once. */
export interface RequestCheckContext {
  pid: string;
  control: PileControlState;
  /** TK of an accepted offset (cached by the pile) */
  ticketKey(off: number): MacKey;
  /** the migration switch: accept requests that carry no mac (revision 1); off by default */
  acceptRevision1Requests: boolean;
}

/** Steps 2-5, first failure wins; nothing is kept of a request whatever the outcome. */
export function authenticateRequest(
  request: AuthRequest,
  nowS: number,
  ctx: RequestCheckContext,
): Result<AuthenticatedRequest, ErrorCode> {
  // 2. the ticket, and whom it names
  const parsed = parseTicket(request.ticket);
  if (!parsed.ok) return fail('MALFORMED', parsed.message);
  const ticket = parsed.value.body;
  const sidBytes = tryB64uDecode(request.sid, RANDOM_BYTES);
  const r1 = tryB64uDecode(request.r1, RANDOM_BYTES);
  if (!sidBytes || !r1) return fail('MALFORMED', 'sid and r1 must be 16 bytes of base64url');
  if (request.pid !== ctx.pid || ticket.pid !== ctx.pid) {
    return fail('WRONG_PILE', `ticket is for pile ${ticket.pid}, this is ${ctx.pid}`);
  }
  if (ticket.vid !== request.vid) return fail('WRONG_VEHICLE', 'ticket belongs to another vehicle');
  // 3. validity with 300 s skew
  if (nowS < ticket.nbf - CLOCK_SKEW_SECONDS) return fail('TICKET_NOT_YET_VALID', 'ticket not yet valid');
  if (nowS > ticket.exp + CLOCK_SKEW_SECONDS) return fail('TICKET_EXPIRED', 'ticket expired');
  // 4. key offset
  if (!ctx.control.acceptsOffset(ticket.off)) {
    return fail('UNKNOWN_KEY_OFFSET', `key offset ${ticket.off} is not accepted`);
  }
  // 5. the request's mac under the AK of this ticket: only its holder can make it
  const akBytes = deriveAuthKey(ctx.ticketKey(ticket.off), parsed.value.bytes);
  const ak = new MacKey(akBytes);
  let revision: 1 | 2 = 2;
  if (request.mac === undefined) {
    if (!ctx.acceptRevision1Requests) {
      return fail('BAD_REQUEST_MAC', 'request has no mac (revision 1); this pile requires revision 2');
    }
    revision = 1;
  } else if (!verifyRequestMac(ak, request, sidBytes, r1)) {
    return fail('BAD_REQUEST_MAC', 'request mac does not verify');
  }
  const limitKey = revision === 2 ? request.vid : `${request.vid}${REVISION_1_SUFFIX}`;
  return ok({ ticket, sidBytes, r1, akBytes, ak, revision, limitKey });
}
