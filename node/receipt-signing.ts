/**
 * PROTOCOL §8a receipts through OpenSSL (node:crypto): the pile's signer, and a verifier for every OCMF curve
 * OpenSSL knows (P-256 as the pile signs, and secp256k1, P-384, brainpool and the 192-bit curves that meters
 * use). Parsing and the record's fields stay in shared/receipt; only the ECDSA step is OpenSSL's here.
 */
import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  ECDH,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  assembleOcmf,
  hexToBytes,
  type OcmfCurve,
  type OcmfHash,
  type OcmfResult,
  type OcmfSignatureCheck,
  ocmfAlgorithm,
  ocmfFail,
  type ParsedOcmf,
  RECEIPT_SIGNATURE_ALGORITHM,
  tryB64uDecode,
  verifyOcmfWith,
} from '../shared/index.js';

/** OCMF's curve names (table 23) as OpenSSL names them. */
export const OPENSSL_CURVES: Readonly<Record<OcmfCurve, string>> = {
  secp256r1: 'prime256v1',
  secp256k1: 'secp256k1',
  secp384r1: 'secp384r1',
  secp192r1: 'prime192v1',
  secp192k1: 'secp192k1',
  brainpool256r1: 'brainpoolP256r1',
  brainpool384r1: 'brainpoolP384r1',
};

/** The curves a raw private scalar can be imported on (the ones JWK names). */
const JWK_CURVES: Partial<Record<OcmfCurve, string>> = {
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp256k1: 'secp256k1',
};

const NODE_HASH: Readonly<Record<OcmfHash, string>> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384' };

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/**
 * The keystore's `signingKey` (a raw private scalar) as an OpenSSL key: its public point is worked out by
 * OpenSSL, and both go in as JWK. Throws RangeError for a scalar that is not a key of the curve.
 */
export function receiptSigningKey(privateScalar: Uint8Array, curve: OcmfCurve = 'secp256r1'): KeyObject {
  const crv = JWK_CURVES[curve];
  if (!crv) throw new RangeError(`a raw private key on ${curve} cannot be imported; give a PEM key instead`);
  const ecdh = createECDH(OPENSSL_CURVES[curve]);
  try {
    ecdh.setPrivateKey(privateScalar);
  } catch {
    throw new RangeError(`the signing key is not a private key of ${curve}`);
  }
  const point = ecdh.getPublicKey();
  const size = (point.length - 1) / 2;
  if (privateScalar.length !== size)
    throw new RangeError(`a ${curve} signing key is ${size} bytes, got ${privateScalar.length}`);
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv,
      d: b64u(privateScalar),
      x: b64u(point.subarray(1, 1 + size)),
      y: b64u(point.subarray(1 + size)),
    },
    format: 'jwk',
  });
}

/** OpenSSL's name of an EC key's curve, or undefined for another kind of key. */
function curveOf(key: KeyObject): string | undefined {
  return key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
}

/**
 * A signer of §8a payloads: the whole OCMF record of a payload text, its DER ECDSA signature made by OpenSSL
 * (a fresh random k each time, so two signatures of one payload differ). The key is the raw scalar from the
 * keystore or any OpenSSL private key on the algorithm's curve, imported once.
 */
export function createOcmfSigner(
  key: Uint8Array | KeyObject,
  algorithmName: string = RECEIPT_SIGNATURE_ALGORITHM,
): (payloadText: string) => string {
  const algorithm = ocmfAlgorithm(algorithmName);
  if (!algorithm) throw new RangeError(`${algorithmName} is not an OCMF signature algorithm`);
  const privateKey = key instanceof Uint8Array ? receiptSigningKey(key, algorithm.curve) : key;
  if (curveOf(privateKey) !== OPENSSL_CURVES[algorithm.curve])
    throw new RangeError(
      `${algorithm.name} needs a ${algorithm.curve} key, not ${curveOf(privateKey) ?? 'this one'}`,
    );
  const hash = NODE_HASH[algorithm.hash];
  const signingKey = { key: privateKey, dsaEncoding: 'der' } as const;
  return (payloadText) =>
    assembleOcmf(payloadText, sign(hash, Buffer.from(payloadText, 'utf8'), signingKey), algorithm.name);
}

/** One payload signed with a P-256 scalar (ECDSA-secp256r1-SHA256), as the pile does for each session. */
export function signOcmfPayloadOpenSsl(payloadText: string, privateScalar: Uint8Array): string {
  return createOcmfSigner(privateScalar)(payloadText);
}

/** A verifier's public key: an OpenSSL key (from PEM), or a SEC1 point on whatever curve the record's SA names. */
export type OcmfPublicKey = KeyObject | Uint8Array;

// An SPKI of a named curve is a fixed DER prefix followed by the uncompressed point. The prefix is cut from a key
// OpenSSL makes on that curve, once, rather than written out by hand.
const spkiPrefixes = new Map<string, Buffer>();
function spkiPrefix(opensslCurve: string, pointLength: number): Buffer {
  let prefix = spkiPrefixes.get(opensslCurve);
  if (!prefix) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: opensslCurve });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    prefix = der.subarray(0, der.length - pointLength);
    spkiPrefixes.set(opensslCurve, prefix);
  }
  return prefix;
}

/** A SEC1 point (compressed or not) as an OpenSSL key of `curve`, or BAD_KEY when it is not a point of it. */
export function publicKeyFromPoint(point: Uint8Array, curve: OcmfCurve): OcmfResult<KeyObject> {
  const opensslCurve = OPENSSL_CURVES[curve];
  let uncompressed: Buffer;
  try {
    uncompressed = ECDH.convertKey(point, opensslCurve, undefined, undefined, 'uncompressed') as Buffer;
  } catch {
    return ocmfFail('BAD_KEY', 'signKey', `is not a point of ${curve}`);
  }
  const der = Buffer.concat([spkiPrefix(opensslCurve, uncompressed.length), uncompressed]);
  return { ok: true, value: createPublicKey({ key: der, format: 'der', type: 'spki' }) };
}

/** The ECDSA check of a parsed record through OpenSSL, under the key for the record's curve. */
export function openSslSignatureCheck(publicKey: OcmfPublicKey): OcmfSignatureCheck {
  return (record) => {
    const { algorithm } = record;
    const key = publicKey instanceof Uint8Array ? publicKeyFromPoint(publicKey, algorithm.curve) : undefined;
    if (key && !key.ok) return key;
    const keyObject = key ? key.value : (publicKey as KeyObject);
    const keyCurve = curveOf(keyObject);
    if (!keyCurve) return ocmfFail('BAD_KEY', 'signKey', 'is not an elliptic-curve public key');
    if (keyCurve !== OPENSSL_CURVES[algorithm.curve])
      return ocmfFail('UNSUPPORTED_ALGORITHM', 'SA', `${algorithm.name} does not fit a key on ${keyCurve}`);
    let valid = false;
    try {
      valid = verify(
        NODE_HASH[algorithm.hash],
        Buffer.from(record.payloadText, 'utf8'),
        { key: keyObject, dsaEncoding: 'der' },
        record.signatureDer,
      );
    } catch {
      valid = false; // a DER structure OpenSSL cannot read
    }
    return valid
      ? { ok: true, value: true }
      : ocmfFail('BAD_SIGNATURE', 'SD', 'does not verify under this key');
  };
}

/** Verifies an OCMF record through OpenSSL, on any curve it knows. Never throws. */
export function verifyOcmfOpenSsl(ocmf: string, publicKey: OcmfPublicKey): OcmfResult<ParsedOcmf> {
  return verifyOcmfWith(ocmf, openSslSignatureCheck(publicKey));
}

/**
 * A public key as a person gives it: PEM (SPKI, any OpenSSL EC curve), or a SEC1 point in hex or base64url,
 * whose curve the record's SA then names. Hex is tried first: a point's hex is also valid base64url text.
 */
export function parseOcmfPublicKey(text: string): OcmfResult<OcmfPublicKey> {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    try {
      const key = createPublicKey({ key: trimmed, format: 'pem' });
      if (!curveOf(key)) return ocmfFail('BAD_KEY', 'signKey', 'is not an elliptic-curve public key');
      return { ok: true, value: key };
    } catch {
      return ocmfFail('BAD_KEY', 'signKey', 'is not a PEM public key');
    }
  }
  // SEC1: 02 or 03 and x (compressed), or 04, x and y; an odd length of at least 25 bytes (192-bit curves).
  const isSec1 = (bytes: Uint8Array | undefined): bytes is Uint8Array =>
    bytes !== undefined && bytes.length >= 25 && bytes.length % 2 === 1 && [2, 3, 4].includes(bytes[0]!);
  const hex = /^(?:[0-9a-fA-F]{2})+$/.test(trimmed) ? hexToBytes(trimmed) : undefined;
  if (isSec1(hex)) return { ok: true, value: hex };
  const bytes = tryB64uDecode(trimmed);
  if (isSec1(bytes)) return { ok: true, value: bytes };
  return ocmfFail(
    'BAD_KEY',
    'signKey',
    'must be a SEC1 public key (base64url or hex, starting 02, 03 or 04) or a PEM public key',
  );
}
