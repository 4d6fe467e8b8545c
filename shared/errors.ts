/** The protocol's error codes (PROTOCOL §6) as typed values. */
export const ERROR_CODES = [
  'MALFORMED',
  'UNSUPPORTED_VERSION',
  'WRONG_PILE',
  'WRONG_VEHICLE',
  'TICKET_NOT_YET_VALID',
  'TICKET_EXPIRED',
  'UNKNOWN_KEY_OFFSET',
  'BAD_REQUEST_MAC',
  'REVOKED',
  'REPLAY',
  'UNKNOWN_CONNECTOR',
  'CONNECTOR_BUSY',
  'RATE_LIMITED',
  'BAD_PROOF',
  'TIMEOUT',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes the cloud answers an authenticated credential.request with (PROTOCOL §5), in credential.denied on
 * vehicles/{vid}/cloud. A request whose MAC does not verify under the named vehicle's key (or that is too
 * broken to check) is never answered: the cloud counts it and drops it.
 */
export const CREDENTIAL_DENIAL_CODES = [
  'STALE',
  'REPLAY',
  'RATE_LIMITED',
  'NOT_ENTITLED',
  'INTERNAL',
] as const;
export type CredentialDenialCode = (typeof CREDENTIAL_DENIAL_CODES)[number];

/** Reasons a vehicle aborts a handshake (auth.abort). */
export const ABORT_REASONS = ['PILE_NOT_AUTHENTIC', 'OFFER_DECLINED', 'OFFER_INVALID', 'TIMEOUT'] as const;
export type AbortReason = (typeof ABORT_REASONS)[number];

/** Why a vehicle's handshake ended without authorisation: the pile's §6 code, or what the vehicle found. */
export const VEHICLE_FAILURE_CODES = [
  ...ERROR_CODES,
  'PILE_NOT_AUTHENTIC',
  'BAD_RESULT_MAC',
  'OFFER_INVALID',
  'OFFER_DECLINED',
] as const;
export type VehicleFailureCode = (typeof VEHICLE_FAILURE_CODES)[number];

/** Why a vehicle client could not authenticate at a pile: its handshake failed, or it had no credential to use. */
export const AUTH_FAILURE_CODES = [...VEHICLE_FAILURE_CODES, 'NO_CREDENTIAL', 'NOT_CONNECTED'] as const;
export type AuthFailureCode = (typeof AUTH_FAILURE_CODES)[number];

/** Why a vehicle client got no credential from the cloud: denied, no answer in time, or no broker login. */
export const CREDENTIAL_FAILURE_CODES = [
  ...CREDENTIAL_DENIAL_CODES,
  'TIMEOUT',
  'MQTT_LOGIN_REFUSED',
] as const;
export type CredentialFailureCode = (typeof CREDENTIAL_FAILURE_CODES)[number];

/** Whether `value` is one of `codes` (for a code that arrives as text: a wire field, a UI attribute). */
export function isOneOf<C extends string>(codes: readonly C[], value: unknown): value is C {
  return typeof value === 'string' && (codes as readonly string[]).includes(value);
}

/** Result of a check at a boundary: a value, or a typed error. Used instead of exceptions on hot paths. */
export type Result<T, C extends string = ErrorCode> =
  | { ok: true; value: T }
  | { ok: false; code: C; message: string };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<C extends string>(code: C, message: string): { ok: false; code: C; message: string } {
  return { ok: false, code, message };
}
