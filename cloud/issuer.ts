/**
 * Issuing one credential (PROTOCOL §3-§5): a ticket for (vehicle, pile) under the pile's current key offset,
 * its auth key, both sealed to the vehicle and its topic, stored with the ticket and retained for the broker.
 * And when a pair needs a new one: no usable ticket, or less than RENEW_AT_FRACTION of its life left.
 */

import { deriveAuthKey, issueTicket, type RandomSource, sealCredential, topics } from '../shared/index.js';
import { audit } from './audit.js';
import type { IssuingKeys } from './issuing-keys.js';
import type { ControlTooLarge } from './pile-topics.js';
import type { CloudTx } from './store/cloud-store.js';
import type { GrantRow, IssuedTicket, PileRow, TicketRow } from './store/records.js';

export const DEFAULT_TICKET_LIFE_SECONDS = 7 * 24 * 3600;
/** renew when this share of a ticket's life is left */
export const RENEW_AT_FRACTION = 0.2;

export interface IssuerOptions {
  ticketLifeSeconds: number;
  random: RandomSource;
  /** credentials per transaction in a pass; default DEFAULT_ISSUE_BATCH */
  issueBatch?: number;
  /** a pile whose control body would not fit (it keeps its previous one): the service logs it as an error */
  onControlTooLarge?: (tooLarge: ControlTooLarge) => void;
}

/** When a ticket issued now under `grant` ends: the ticket life, never past the grant's end. */
function ticketEnd(grant: GrantRow, now: number, life: number): number {
  return grant.exp === null ? now + life : Math.min(grant.exp, now + life);
}

/**
 * Issues a ticket for (vid, pile) under the pile's current offset, seals it and makes it the retained credential,
 * in the caller's unit of work (which holds the pile's lock).
 */
export async function issueCredential(
  tx: CloudTx,
  keys: IssuingKeys,
  vid: string,
  pile: PileRow,
  grant: GrantRow,
  now: number,
  options: IssuerOptions,
): Promise<IssuedTicket> {
  const exp = ticketEnd(grant, now, options.ticketLifeSeconds);
  const ticket = issueTicket(
    {
      vid,
      pid: pile.pid,
      off: pile.key_offset,
      iat: now,
      nbf: now,
      exp,
      ...(grant.max_wh !== null ? { maxWh: grant.max_wh } : {}),
    },
    options.random,
  );
  const ak = deriveAuthKey(keys.ticketKey(pile, pile.key_offset), ticket.bytes);
  const sealed = sealCredential(
    await keys.sealKey(tx, vid),
    vid,
    {
      ticket: ticket.b64u,
      ak,
      pid: pile.pid,
      tid: ticket.body.tid,
      exp,
      ...(pile.sign_key !== null ? { signKey: pile.sign_key } : {}),
    },
    options.random(24),
  );
  const issued: IssuedTicket = {
    tid: ticket.body.tid,
    vid,
    pid: pile.pid,
    grant_id: grant.id,
    off: pile.key_offset,
    iat: now,
    nbf: now,
    exp,
    ticket: ticket.b64u,
    sealed: sealed.payload,
    sign_key: pile.sign_key,
  };
  await tx.insertTicket(issued);
  // a fresh nonce makes every sealed credential new: no need to compare with the stored one
  await tx.putRetained(topics.credential(vid, pile.pid), sealed.payload, now);
  await audit(tx, 'service', 'ticket.issue', `${vid}/${pile.pid}`, now, {
    tid: issued.tid,
    off: issued.off,
    exp,
  });
  return issued;
}

/** Whether the pair's current ticket can still be handed out: not revoked, current offset and signKey, renewal not due. */
export function stillUsable(
  current: TicketRow | undefined,
  pile: PileRow,
  now: number,
): current is TicketRow {
  return (
    current !== undefined &&
    current.revoked_at === null &&
    current.off === pile.key_offset &&
    current.sign_key === pile.sign_key &&
    current.exp - now > RENEW_AT_FRACTION * (current.exp - current.iat)
  );
}

/** Whether a pass issues the pair a new ticket under `grant` now. */
export function needsNewTicket(
  current: TicketRow | undefined,
  grant: GrantRow,
  pile: PileRow,
  now: number,
  life: number,
): boolean {
  if (!current) return true;
  // a revoked ticket is replaced only under a grant made after it (a revocation is not undone by the next pass)
  if (current.revoked_at !== null) return grant.id > (current.grant_id ?? 0);
  if (current.exp <= now) return true;
  if (current.off !== pile.key_offset) return true;
  // the pile's signing key changed (PROTOCOL §8a): the credential must carry the new one
  if (current.sign_key !== pile.sign_key) return true;
  const left = current.exp - now;
  // renewal is due, and the grant lets a new ticket end later than this one
  return left < RENEW_AT_FRACTION * (current.exp - current.iat) && ticketEnd(grant, now, life) > current.exp;
}
