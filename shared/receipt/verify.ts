/**
 * Signing and verifying §8a receipts on @noble/curves (what the head unit runs), and the vehicle's acceptance
 * check. The signed bytes are the UTF-8 bytes of the payload exactly as they stand between the two `|`.
 */
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex, utf8ToBytes } from '../crypto/bytes.js';
import { RECEIPT_SIGNATURE_ALGORITHM } from './algorithms.js';
import { type OcmfResult, ocmfFail } from './errors.js';
import { type ParsedOcmf, parseOcmf } from './parse.js';
import { type OcmfEnergy, ocmfEnergy } from './readings.js';
import { checkP256PublicKey, parseSignKey } from './sign-key.js';

/** Checks a parsed record's signature: ok, or why not (a wrong algorithm for the key, a bad signature). */
export type OcmfSignatureCheck = (record: ParsedOcmf) => OcmfResult<true>;

/** Parses the record, then checks its signature with `check` (noble here, OpenSSL in node/). */
export function verifyOcmfWith(ocmf: string, check: OcmfSignatureCheck): OcmfResult<ParsedOcmf> {
  const parsed = parseOcmf(ocmf);
  if (!parsed.ok) return parsed;
  const checked = check(parsed.value);
  return checked.ok ? parsed : checked;
}

/** The signature section of §8a around a DER signature, and the whole record. */
export function assembleOcmf(
  payloadText: string,
  derSignature: Uint8Array,
  algorithm: string = RECEIPT_SIGNATURE_ALGORITHM,
): string {
  if (payloadText.includes('|')) throw new RangeError('OCMF payload must not contain "|"');
  const signature = { SA: algorithm, SE: 'hex', SM: 'application/x-der', SD: bytesToHex(derSignature) };
  return `OCMF|${payloadText}|${JSON.stringify(signature)}`;
}

/**
 * Signs a payload text with a P-256 private scalar (32 bytes): deterministic ECDSA (RFC 6979) with SHA-256, so
 * the same payload and key always give the same record. For tests and for signers without OpenSSL.
 */
export function signOcmfPayload(payloadText: string, privateScalar: Uint8Array): string {
  return assembleOcmf(payloadText, p256.sign(utf8ToBytes(payloadText), privateScalar, { format: 'der' }));
}

/** The check of an ECDSA-secp256r1-SHA256 signature under one P-256 key (SEC1 bytes, already checked). */
export function p256SignatureCheck(publicKey: Uint8Array): OcmfSignatureCheck {
  return (record) => {
    if (record.algorithm.curve !== 'secp256r1' || record.algorithm.hash !== 'SHA-256')
      return ocmfFail(
        'UNSUPPORTED_ALGORITHM',
        'SA',
        `${record.algorithm.name} does not fit a P-256 key (expected ${RECEIPT_SIGNATURE_ALGORITHM})`,
      );
    let valid = false;
    try {
      // High-S signatures are valid ECDSA (OpenSSL makes them half the time): lowS is the signer's choice only.
      valid = p256.verify(record.signatureDer, utf8ToBytes(record.payloadText), publicKey, {
        format: 'der',
        lowS: false,
      });
    } catch {
      valid = false; // a DER structure noble cannot read
    }
    return valid
      ? { ok: true, value: true }
      : ocmfFail('BAD_SIGNATURE', 'SD', 'does not verify under this key');
  };
}

/**
 * Verifies an OCMF record under a P-256 public key: a base64url signKey (compressed or uncompressed) or its
 * SEC1 bytes. The parsed record, or the typed reason it is refused. Never throws.
 */
export function verifyOcmf(ocmf: string, publicKey: string | Uint8Array): OcmfResult<ParsedOcmf> {
  const key = typeof publicKey === 'string' ? parseSignKey(publicKey) : checkP256PublicKey(publicKey);
  if (!key.ok) return key;
  return verifyOcmfWith(ocmf, p256SignatureCheck(key.value));
}

/** What the vehicle knows of its session, to hold a receipt against. */
export interface ReceiptExpectation {
  /** the pile's key from the credential (SEC1 compressed, base64url) */
  signKey: string;
  tid: string;
  pid: string;
  connector: number;
  /** the receipt body's energy, Wh */
  wh: number;
}

export interface CheckedReceiptOcmf {
  record: ParsedOcmf;
  energy: OcmfEnergy;
}

/** ID, CI and the energy of a verified record against the session (PROTOCOL §8a). */
export function matchReceiptOcmf(
  record: ParsedOcmf,
  expected: Omit<ReceiptExpectation, 'signKey'>,
): OcmfResult<CheckedReceiptOcmf> {
  const { payload } = record;
  if (payload.ID !== expected.tid)
    return ocmfFail(
      'WRONG_IDENTIFICATION',
      'ID',
      `names ticket ${JSON.stringify(payload.ID ?? null)}, not this session's ${expected.tid}`,
    );
  const chargePoint = `${expected.pid}*${expected.connector}`;
  if (payload.CI !== chargePoint)
    return ocmfFail(
      'WRONG_CHARGE_POINT',
      'CI',
      `is ${JSON.stringify(payload.CI ?? null)}, not ${chargePoint}`,
    );
  const energy = ocmfEnergy(payload);
  if (!energy.ok) return energy;
  if (energy.value.wh !== expected.wh)
    return ocmfFail(
      'ENERGY_MISMATCH',
      'RD',
      `end minus start is ${energy.value.wh} Wh, the receipt says ${expected.wh} Wh`,
    );
  return { ok: true, value: { record, energy: energy.value } };
}

/**
 * The vehicle's acceptance of a receipt's `ocmf` (PROTOCOL §8a): the signature verifies under the credential's
 * signKey, ID is the ticket, CI is pid*connector and E.RV − B.RV is the body's energy, exactly in Wh.
 */
export function checkReceiptOcmf(ocmf: string, expected: ReceiptExpectation): OcmfResult<CheckedReceiptOcmf> {
  const key = parseSignKey(expected.signKey, { compressedOnly: true });
  if (!key.ok) return key;
  const record = verifyOcmfWith(ocmf, p256SignatureCheck(key.value));
  if (!record.ok) return record;
  return matchReceiptOcmf(record.value, expected);
}
