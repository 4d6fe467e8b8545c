/**
 * One schema per wire message of PROTOCOL §4-§9. Shape failures map to MALFORMED. A `v` other than 1 is
 * UNSUPPORTED_VERSION, checked before the shape (PROTOCOL §6 step 1, in validateMessage), so a later version is
 * told so rather than called malformed; the schemas themselves accept any integer `v`. Unknown fields are ignored.
 */
import * as v from 'valibot';
import { CREDENTIAL_DENIAL_CODES, ERROR_CODES } from '../errors.js';
import {
  b64u,
  b64u16,
  b64u32,
  decimalString,
  id,
  jsonText,
  sealedBox,
  signKey,
  uint,
  unixTime,
  version,
} from './fields.js';

/** §6 auth.request — vehicle → pile. */
export const AuthRequest = v.object({
  v: version,
  type: v.literal('auth.request'),
  sid: b64u16,
  vid: id,
  pid: id,
  connector: v.pipe(uint, v.minValue(1), v.maxValue(255)),
  ticket: b64u,
  r1: b64u16,
  ts: unixTime,
  /**
   * Revision 2: MAC(AK, "evauth/v1/request", …). Optional in the shape: a revision-1 request has none, and the
   * pile answers that with BAD_REQUEST_MAC at step 5 (or lets it through where its operator allows revision 1).
   */
  mac: v.optional(b64u32),
});

/** §6 auth.challenge — pile → vehicle. */
export const AuthChallenge = v.object({
  v: version,
  type: v.literal('auth.challenge'),
  sid: b64u16,
  pid: id,
  r3: b64u16,
  proof: b64u32,
  offer: sealedBox,
});

/** §6 auth.response — vehicle → pile. */
export const AuthResponse = v.object({
  v: version,
  type: v.literal('auth.response'),
  sid: b64u16,
  proof: b64u32,
});

/** §6 auth.result — pile → vehicle. */
export const AuthResult = v.object({
  v: version,
  type: v.literal('auth.result'),
  sid: b64u16,
  ok: v.literal(true),
  mac: b64u32,
});

/** §6 auth.error — pile → vehicle; `mac` once SK exists. */
export const AuthError = v.object({
  v: version,
  type: v.literal('auth.error'),
  sid: v.pipe(v.string(), v.maxLength(64)),
  code: v.picklist(ERROR_CODES),
  message: v.pipe(v.string(), v.maxLength(1024)),
  mac: v.optional(b64u32),
});

/** §6 auth.abort — vehicle → pile. */
export const AuthAbort = v.object({
  v: version,
  type: v.literal('auth.abort'),
  sid: b64u16,
  reason: v.pipe(v.string(), v.maxLength(64)),
  /** Revision 2: MAC(AK, "evauth/v1/abort", sid, reason); an abort without a valid one ends nothing. */
  mac: v.optional(b64u32),
});

/** §8 session.meter — pile → vehicle. */
export const SessionMeter = v.object({
  v: version,
  type: v.literal('session.meter'),
  sid: b64u16,
  seq: v.pipe(uint, v.maxValue(0xffffffff)),
  body: jsonText,
  mac: b64u32,
});

/** §8 session.stop — vehicle → pile. */
export const SessionStop = v.object({
  v: version,
  type: v.literal('session.stop'),
  sid: b64u16,
  seq: v.pipe(uint, v.maxValue(0xffffffff)),
  mac: b64u32,
});

/** §8 session.end — pile → vehicle. */
export const SessionEnd = v.object({
  v: version,
  type: v.literal('session.end'),
  sid: b64u16,
  body: jsonText,
  mac: b64u32,
});

/** §7 pile.control — cloud → pile, retained. */
export const PileControl = v.object({
  v: version,
  type: v.literal('pile.control'),
  // the payload's byte limit (MAX_CONTROL_PAYLOAD_BYTES) bounds the body; it is parsed only after its mac
  body: v.string(),
  mac: b64u32,
});

/** §5 sealed credential — cloud → vehicle, retained. */
export const SealedCredential = v.object({
  v: version,
  n: sealedBox.entries.n,
  c: b64u,
});

/** §5 credential.request — vehicle → cloud. */
export const CredentialRequest = v.object({
  v: version,
  type: v.literal('credential.request'),
  vid: id,
  pid: id,
  ts: unixTime,
  nonce: b64u16,
  mac: b64u32,
});

/** §5 credential.denied — cloud → vehicle. */
export const CredentialDenied = v.object({
  v: version,
  type: v.literal('credential.denied'),
  pid: id,
  code: v.picklist(CREDENTIAL_DENIAL_CODES),
});

/** §4 gateways/{gid}/status */
export const GatewayStatus = v.object({
  v: version,
  gid: id,
  online: v.boolean(),
});

export const CONNECTOR_STATES = ['available', 'occupied', 'charging', 'faulted', 'offline'] as const;
export type ConnectorState = (typeof CONNECTOR_STATES)[number];

/** §4 piles/{pid}/status — live connector states. */
export const PileStatus = v.object({
  v: version,
  pid: id,
  gid: v.optional(id),
  ts: unixTime,
  connectors: v.pipe(
    v.array(
      v.object({
        id: v.pipe(uint, v.minValue(1)),
        state: v.picklist(CONNECTOR_STATES),
        w: v.optional(uint),
        /** whether a cable is plugged in, where the charger can tell (plug first, then authorise) */
        plugged: v.optional(v.boolean()),
      }),
    ),
    v.maxLength(64),
  ),
});

/** §4 directory/piles/{pid} — name, site, address, position, connectors, tariff. */
export const DirectoryEntry = v.object({
  v: version,
  pid: id,
  name: v.pipe(v.string(), v.maxLength(200)),
  site: v.pipe(v.string(), v.maxLength(200)),
  address: v.pipe(v.string(), v.maxLength(400)),
  lat: v.pipe(v.number(), v.minValue(-90), v.maxValue(90)),
  lon: v.pipe(v.number(), v.minValue(-180), v.maxValue(180)),
  connectors: v.array(
    v.object({ id: v.pipe(uint, v.minValue(1)), maxW: uint, kind: v.optional(v.string()) }),
  ),
  tariff: v.object({ pricePerKWh: decimalString, currency: v.string() }),
  /** §8a the pile's public signing key, for anyone checking its receipts */
  signKey: v.optional(signKey),
});

/** Everything a vehicle may send on piles/{pid}/auth. */
export const PileInbound = v.variant('type', [AuthRequest, AuthResponse, AuthAbort, SessionStop]);
/** Everything a pile sends on vehicles/{vid}/auth. */
export const VehicleAuthInbound = v.variant('type', [AuthChallenge, AuthResult, AuthError]);
/** Everything a pile sends on vehicles/{vid}/session. */
export const VehicleSessionInbound = v.variant('type', [SessionMeter, SessionEnd]);

export type AuthRequest = v.InferOutput<typeof AuthRequest>;
export type AuthChallenge = v.InferOutput<typeof AuthChallenge>;
export type AuthResponse = v.InferOutput<typeof AuthResponse>;
export type AuthResult = v.InferOutput<typeof AuthResult>;
export type AuthError = v.InferOutput<typeof AuthError>;
export type AuthAbort = v.InferOutput<typeof AuthAbort>;
export type SessionMeter = v.InferOutput<typeof SessionMeter>;
export type SessionStop = v.InferOutput<typeof SessionStop>;
export type SessionEnd = v.InferOutput<typeof SessionEnd>;
export type PileControl = v.InferOutput<typeof PileControl>;
export type SealedCredential = v.InferOutput<typeof SealedCredential>;
export type CredentialRequest = v.InferOutput<typeof CredentialRequest>;
export type CredentialDenied = v.InferOutput<typeof CredentialDenied>;
export type GatewayStatus = v.InferOutput<typeof GatewayStatus>;
export type PileStatus = v.InferOutput<typeof PileStatus>;
export type DirectoryEntry = v.InferOutput<typeof DirectoryEntry>;
export type PileInbound = v.InferOutput<typeof PileInbound>;
export type VehicleAuthInbound = v.InferOutput<typeof VehicleAuthInbound>;
export type VehicleSessionInbound = v.InferOutput<typeof VehicleSessionInbound>;
