/** Why an OCMF record (PROTOCOL §8a) is refused: a typed code and the field it concerns. */

export const OCMF_ERROR_CODES = [
  /** not `OCMF|<payload>|<signature>`, not JSON, or a field missing or of the wrong form */
  'MALFORMED',
  /** SA names an algorithm this verifier does not know, or one that does not fit the key */
  'UNSUPPORTED_ALGORITHM',
  /** the public key is not a point of the curve (or not a key at all) */
  'BAD_KEY',
  /** the signature does not verify over the payload */
  'BAD_SIGNATURE',
  /** the receipt names another ticket (ID) than the session's */
  'WRONG_IDENTIFICATION',
  /** the receipt names another pile or connector (CI) than the session's */
  'WRONG_CHARGE_POINT',
  /** E.RV − B.RV is not the energy of the session */
  'ENERGY_MISMATCH',
] as const;
export type OcmfErrorCode = (typeof OCMF_ERROR_CODES)[number];

export interface OcmfFailure {
  ok: false;
  code: OcmfErrorCode;
  /** the OCMF field (`SA`, `RD[1].RV`, …), `signKey` for the key, or `OCMF` for the whole text */
  field: string;
  /** one line for a person, starting with the field */
  message: string;
}

export type OcmfResult<T> = { ok: true; value: T } | OcmfFailure;

export function ocmfFail(code: OcmfErrorCode, field: string, problem: string): OcmfFailure {
  return { ok: false, code, field, message: `${field}: ${problem}` };
}
