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

/** Codes the cloud answers a credential.request with (PROTOCOL §5). */
export const CREDENTIAL_DENIAL_CODES = [
  'MALFORMED',
  'UNSUPPORTED_VERSION',
  'BAD_MAC',
  'STALE',
  'REPLAY',
  'UNKNOWN_VEHICLE',
  'NOT_ENTITLED',
  'RATE_LIMITED',
  'INTERNAL',
] as const;
export type CredentialDenialCode = (typeof CREDENTIAL_DENIAL_CODES)[number];

/** Reasons a vehicle aborts a handshake. */
export const ABORT_REASONS = ['PILE_NOT_AUTHENTIC', 'OFFER_DECLINED', 'OFFER_INVALID', 'TIMEOUT'] as const;
export type AbortReason = (typeof ABORT_REASONS)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export class EvauthError extends Error {
  override readonly name = 'EvauthError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
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
