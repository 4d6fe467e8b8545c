/**
 * The pile's public signing key (PROTOCOL §8a): a P-256 point in SEC1 form, base64url. In credentials and the
 * directory it is compressed (33 bytes); a verifier also takes the uncompressed form (65 bytes).
 */
import { p256 } from '@noble/curves/nist.js';
import { b64uEncode, tryB64uDecode } from '../crypto/bytes.js';
import { type OcmfResult, ocmfFail } from './errors.js';

/** The `signKey` of a private scalar: its public point, compressed, base64url. */
export function signKeyOf(privateScalar: Uint8Array): string {
  return b64uEncode(p256.getPublicKey(privateScalar, true));
}

/** SEC1 bytes that are a point of P-256 (compressed 33 bytes, or 65 uncompressed unless `compressedOnly`). */
export function checkP256PublicKey(
  bytes: Uint8Array,
  options: { compressedOnly?: boolean; field?: string } = {},
): OcmfResult<Uint8Array> {
  const field = options.field ?? 'signKey';
  const lengths = options.compressedOnly
    ? '33 bytes (SEC1 compressed)'
    : '33 bytes (compressed) or 65 (uncompressed)';
  const formOk =
    (bytes.length === 33 && (bytes[0] === 2 || bytes[0] === 3)) ||
    (!options.compressedOnly && bytes.length === 65 && bytes[0] === 4);
  if (!formOk) return ocmfFail('BAD_KEY', field, `must be a SEC1 P-256 public key of ${lengths}`);
  try {
    p256.Point.fromBytes(bytes).assertValidity();
  } catch {
    return ocmfFail('BAD_KEY', field, 'is not a point of P-256');
  }
  return { ok: true, value: bytes };
}

/** A base64url signKey, checked to be a P-256 point. */
export function parseSignKey(
  signKey: string,
  options: { compressedOnly?: boolean; field?: string } = {},
): OcmfResult<Uint8Array> {
  const bytes = typeof signKey === 'string' ? tryB64uDecode(signKey) : undefined;
  if (!bytes) return ocmfFail('BAD_KEY', options.field ?? 'signKey', 'is not base64url');
  return checkP256PublicKey(bytes, options);
}

/** A P-256 public key (SEC1, already checked to be a point) as the signKey of credentials: compressed, base64url. */
export function compressedSignKey(point: Uint8Array): string {
  return b64uEncode(p256.Point.fromBytes(point).toBytes(true));
}
