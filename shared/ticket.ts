/** The ticket of PROTOCOL §3: issued once as JSON bytes, carried as b64u(T), never re-serialised. */
import { b64uEncode, tryB64uDecode, utf8Decode, utf8ToBytes } from './crypto/bytes.js';
import { fail, ok, type Result } from './errors.js';
import { CLOCK_SKEW_SECONDS, isValidId, RANDOM_BYTES, type RandomSource } from './ids.js';
import { TicketBody } from './messages/bodies.js';
import { decodeBody } from './messages/decode.js';

export interface TicketTerms {
  vid: string;
  pid: string;
  /** root key offset the ticket is issued under */
  off: number;
  iat: number;
  nbf: number;
  exp: number;
  maxWh?: number;
}

export interface IssuedTicket {
  /** T: the exact bytes every party derives from */
  bytes: Uint8Array;
  /** b64u(T), as carried on the wire */
  b64u: string;
  body: TicketBody;
}

/** Fixes the ticket's bytes once; tid and r2 come from the injected random source. */
export function issueTicket(terms: TicketTerms, random: RandomSource): IssuedTicket {
  if (!isValidId(terms.vid)) throw new TypeError(`issueTicket: invalid vid ${JSON.stringify(terms.vid)}`);
  if (!isValidId(terms.pid)) throw new TypeError(`issueTicket: invalid pid ${JSON.stringify(terms.pid)}`);
  if (!(terms.nbf <= terms.exp)) throw new RangeError('issueTicket: nbf must not be after exp');
  // Field order is part of the bytes; keep it as PROTOCOL §3 writes it.
  const body: TicketBody = {
    v: 1,
    tid: b64uEncode(random(RANDOM_BYTES)),
    vid: terms.vid,
    pid: terms.pid,
    off: terms.off,
    iat: terms.iat,
    nbf: terms.nbf,
    exp: terms.exp,
    r2: b64uEncode(random(RANDOM_BYTES)),
  };
  if (terms.maxWh !== undefined) body.maxWh = terms.maxWh;
  const bytes = utf8ToBytes(JSON.stringify(body));
  return { bytes, b64u: b64uEncode(bytes), body };
}

export interface ParsedTicket {
  bytes: Uint8Array;
  body: TicketBody;
}

/** Strict parse of b64u(T): base64url, UTF-8, a JSON object of the ticket's shape, v = 1. */
export function parseTicket(ticketB64u: string): Result<ParsedTicket, 'MALFORMED'> {
  const bytes = tryB64uDecode(ticketB64u);
  if (!bytes || bytes.length === 0) return fail('MALFORMED', 'ticket is not base64url');
  let text: string;
  try {
    text = utf8Decode(bytes);
  } catch {
    return fail('MALFORMED', 'ticket is not UTF-8');
  }
  const body = decodeBody(TicketBody, text);
  if (!body.ok) return fail('MALFORMED', `ticket: ${body.message}`);
  if (body.value.v !== 1) return fail('MALFORMED', `ticket version ${body.value.v} is not 1`);
  return ok({ bytes, body: body.value });
}

export type TicketValidity = 'valid' | 'TICKET_NOT_YET_VALID' | 'TICKET_EXPIRED';

/** nbf - 300 <= now <= exp + 300 (PROTOCOL §3), now in Unix seconds. */
export function ticketValidity(ticket: Pick<TicketBody, 'nbf' | 'exp'>, nowSeconds: number): TicketValidity {
  if (nowSeconds < ticket.nbf - CLOCK_SKEW_SECONDS) return 'TICKET_NOT_YET_VALID';
  if (nowSeconds > ticket.exp + CLOCK_SKEW_SECONDS) return 'TICKET_EXPIRED';
  return 'valid';
}
