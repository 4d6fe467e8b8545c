/** Schemas of the JSON texts carried inside messages: ticket, offer, meter, receipt, control, credential. */
import * as v from 'valibot';
import { MAX_CONTROL_PAYLOAD_BYTES } from '../ids.js';
import {
  b64u,
  b64u16,
  currency,
  decimalString,
  id,
  signKey,
  u32,
  uint,
  unixTime,
  version,
} from './fields.js';

/** entries of one list of a control body at most: what 256 KiB can hold of the shortest entry */
const MAX_CONTROL_ENTRIES = Math.ceil(MAX_CONTROL_PAYLOAD_BYTES / 22);

/** §3 the ticket: T = utf8(JSON text). */
export const TicketBody = v.object({
  v: version,
  tid: b64u16,
  vid: id,
  pid: id,
  off: u32,
  iat: unixTime,
  nbf: unixTime,
  exp: unixTime,
  r2: b64u16,
  maxWh: v.optional(v.pipe(uint, v.minValue(1))),
});

/** §6 the offer, sealed under SK. */
export const OfferBody = v.object({
  connector: v.pipe(uint, v.minValue(1)),
  maxW: uint,
  pricePerKWh: decimalString,
  currency,
  expiresAt: unixTime,
});

export const METER_STATES = ['charging', 'suspended', 'finishing', 'faulted'] as const;

/** §8 session.meter body {ts, wh, w, state}. */
export const MeterBody = v.object({
  ts: unixTime,
  wh: uint,
  w: uint,
  state: v.pipe(v.string(), v.maxLength(32)),
});

/** The longest OCMF text in a receipt body (§8a); the whole session.end stays within the 8 KiB of §1. */
export const MAX_RECEIPT_OCMF_CHARS = 6144;
/** The longest meter key a receipt carries as the charger reported it. */
export const MAX_RECEIPT_METER_KEY_CHARS = 1024;
const ocmfText = v.pipe(v.string(), v.maxLength(MAX_RECEIPT_OCMF_CHARS));

/**
 * §8 session.end body {reason, wh, cost, currency, startedAt, endedAt}; §8a adds the pile's signed OCMF record
 * and, where the charger's meter signed its own, that record and the meter's key as the charger reported them.
 */
export const ReceiptBody = v.object({
  reason: v.pipe(v.string(), v.maxLength(64)),
  wh: uint,
  cost: decimalString,
  currency,
  startedAt: unixTime,
  endedAt: unixTime,
  ocmf: v.optional(ocmfText),
  meterOcmf: v.optional(ocmfText),
  meterKey: v.optional(v.pipe(v.string(), v.maxLength(MAX_RECEIPT_METER_KEY_CHARS))),
});

/**
 * §7 pile.control body (revision 2: up to 256 KiB, `revokedVehicles` optional). The payload's byte limit already
 * bounds the lists (an entry takes at least 22 bytes); the counts here are a second bound.
 */
export const ControlBody = v.object({
  seq: uint,
  issuedAt: unixTime,
  keyOffset: v.object({ current: u32, accept: v.pipe(v.array(u32), v.minLength(1), v.maxLength(16)) }),
  revoked: v.pipe(v.array(v.object({ tid: b64u16, exp: unixTime })), v.maxLength(MAX_CONTROL_ENTRIES)),
  revokedVehicles: v.optional(
    v.pipe(v.array(v.object({ vid: id, until: unixTime })), v.maxLength(MAX_CONTROL_ENTRIES)),
  ),
});

/** §5 the plaintext of a sealed credential. */
export const CredentialPlain = v.object({
  ticket: b64u,
  ak: v.pipe(v.string(), v.length(43)),
  pid: id,
  tid: b64u16,
  exp: unixTime,
  /** §8a the pile's public signing key; revision-1 credentials lack it */
  signKey: v.optional(signKey),
});

export type TicketBody = v.InferOutput<typeof TicketBody>;
export type OfferBody = v.InferOutput<typeof OfferBody>;
export type MeterBody = v.InferOutput<typeof MeterBody>;
export type ReceiptBody = v.InferOutput<typeof ReceiptBody>;
export type ControlBody = v.InferOutput<typeof ControlBody>;
export type CredentialPlain = v.InferOutput<typeof CredentialPlain>;
