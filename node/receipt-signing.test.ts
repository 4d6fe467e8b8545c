/**
 * The OpenSSL signer and verifier against the vectors, against the noble side and against @road-labs/ocmf, and
 * on every other OCMF curve OpenSSL knows.
 */
import { ECDH, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Verifier } from '@road-labs/ocmf';
import { Crypto, EcPublicKey } from '@road-labs/ocmf-crypto-noble';
import { describe, expect, it } from 'vitest';
import {
  b64uDecode,
  b64uEncode,
  bytesToHex,
  type OcmfCurve,
  type OcmfResult,
  ocmfAlgorithm,
  parseOcmf,
  verifyOcmf,
} from '../shared/index.js';
import { payloadSection, receiptVectors } from '../shared/receipt/vectors.test-support.js';
import {
  createOcmfSigner,
  OPENSSL_CURVES,
  parseOcmfPublicKey,
  receiptSigningKey,
  signOcmfPayloadOpenSsl,
  verifyOcmfOpenSsl,
} from './receipt-signing.js';

const vectors = receiptVectors();
const theirVerifier = new Verifier(new Crypto());

const refusal = <T>(r: OcmfResult<T>) => (r.ok ? 'accepted' : { code: r.code, field: r.field });

/** Bytes of a coordinate by OpenSSL's curve name. */
const FIELD_BYTES: Record<string, number> = {
  prime256v1: 32,
  secp256k1: 32,
  secp384r1: 48,
  brainpoolP256r1: 32,
  brainpoolP384r1: 48,
  prime192v1: 24,
};

/** The SEC1 point of an OpenSSL public key: the uncompressed point ends its SPKI. */
function pointOf(key: KeyObject, form: 'compressed' | 'uncompressed'): Uint8Array {
  const curve = key.asymmetricKeyDetails!.namedCurve!;
  const spki = key.export({ type: 'spki', format: 'der' });
  const raw = spki.subarray(spki.length - (1 + 2 * FIELD_BYTES[curve]!));
  return ECDH.convertKey(raw, curve, undefined, undefined, form) as Buffer;
}

describe('node:crypto (OpenSSL) receipts', () => {
  for (const vector of vectors) {
    it(`${vector.name}: verifies the vector record under signKey and refuses the tampered one`, () => {
      const key = b64uDecode(vector.signKey);
      const good = verifyOcmfOpenSsl(vector.ocmf, key);
      expect(good.ok ? good.value.payload.ID : good.message).toBe(vector.tid);
      expect(refusal(verifyOcmfOpenSsl(vector.tamperedOcmf, key))).toEqual({
        code: 'BAD_SIGNATURE',
        field: 'SD',
      });
    });

    it(`${vector.name}: signs the vector payload so that noble, OpenSSL and @road-labs/ocmf all verify it`, async () => {
      const payload = payloadSection(vector.ocmf);
      const first = signOcmfPayloadOpenSsl(payload, vector.signingKey);
      const second = signOcmfPayloadOpenSsl(payload, vector.signingKey);
      expect(payloadSection(first)).toBe(payload);
      // A fresh k each time: another signature, equally valid.
      expect(first).not.toBe(second);
      for (const record of [first, second]) {
        expect(verifyOcmf(record, vector.signKey).ok).toBe(true);
        expect(verifyOcmfOpenSsl(record, b64uDecode(vector.signKey)).ok).toBe(true);
        const theirs = await theirVerifier.parseAndVerify(
          record,
          new EcPublicKey(b64uDecode(vector.signKey), 'secp256r1'),
        );
        expect(theirs.verified).toBe(true);
      }
    });
  }

  it('refuses a scalar that is no key of the curve, and a curve a raw scalar cannot be given for', () => {
    expect(() => receiptSigningKey(new Uint8Array(32))).toThrow(RangeError);
    expect(() => receiptSigningKey(new Uint8Array(31).fill(1))).toThrow(/32 bytes/);
    expect(() => receiptSigningKey(new Uint8Array(32).fill(1), 'brainpool256r1')).toThrow(/PEM/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
    expect(() => createOcmfSigner(privateKey)).toThrow(/needs a secp256r1 key/);
    expect(() => createOcmfSigner(privateKey, 'ECDSA-foo')).toThrow(/not an OCMF signature algorithm/);
  });
});

/**
 * Every OCMF curve but P-256, under the spec's SA name and the aliases we read. @road-labs/ocmf knows only the
 * spec's names, all with SHA-256: for it, an alias that is only another spelling (brainpoolP256r1) is rewritten
 * to the spec's name in the unsigned signature section; the SHA-384 variants have no spec name and are left out.
 */
const curves: [algorithm: string, curve: OcmfCurve][] = [
  ['ECDSA-secp256k1-SHA256', 'secp256k1'],
  ['ECDSA-secp384r1-SHA256', 'secp384r1'],
  ['ECDSA-secp384r1-SHA384', 'secp384r1'],
  ['ECDSA-brainpool256r1-SHA256', 'brainpool256r1'],
  ['ECDSA-brainpoolP256r1-SHA256', 'brainpool256r1'],
  ['ECDSA-brainpool384r1-SHA256', 'brainpool384r1'],
  ['ECDSA-brainpoolP384r1-SHA384', 'brainpool384r1'],
  ['ECDSA-secp192r1-SHA256', 'secp192r1'],
];

describe('other OCMF curves through OpenSSL', () => {
  const payload = payloadSection(vectors[0]!.ocmf);
  for (const [name, curve] of curves) {
    it(`${name}: signs, verifies under PEM and SEC1 keys, refuses a changed record`, async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: OPENSSL_CURVES[curve] });
      const record = createOcmfSigner(privateKey, name)(payload);
      const compressed = pointOf(publicKey, 'compressed');
      const keyTexts = [
        publicKey.export({ type: 'spki', format: 'pem' }) as string,
        bytesToHex(compressed),
        b64uEncode(compressed),
        b64uEncode(pointOf(publicKey, 'uncompressed')),
      ];
      for (const text of keyTexts) {
        const key = parseOcmfPublicKey(text);
        if (!key.ok) throw new Error(key.message);
        const verified = verifyOcmfOpenSsl(record, key.value);
        expect(verified.ok ? verified.value.algorithm.curve : verified.message).toBe(curve);
      }
      const changed = record.replace('"PG":"T17"', '"PG":"T18"');
      expect(refusal(verifyOcmfOpenSsl(changed, publicKey))).toEqual({ code: 'BAD_SIGNATURE', field: 'SD' });
      // The car's verifier is P-256 only and says so.
      expect(refusal(verifyOcmf(record, vectors[0]!.signKey))).toEqual({
        code: 'UNSUPPORTED_ALGORITHM',
        field: 'SA',
      });

      const specName = ocmfAlgorithm(name)!.specName;
      if (specName) {
        const normalised = record.replace(`"SA":"${name}"`, `"SA":"${specName}"`);
        const theirs = await theirVerifier.parseAndVerify(
          normalised,
          new EcPublicKey(pointOf(publicKey, 'uncompressed'), curve),
        );
        expect(theirs.verified).toBe(true);
      }
    });
  }

  it('refuses a key of another curve than SA names, and a point of no curve', () => {
    const brainpool = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' }).publicKey;
    expect(refusal(verifyOcmfOpenSsl(vectors[0]!.ocmf, brainpool))).toEqual({
      code: 'UNSUPPORTED_ALGORITHM',
      field: 'SA',
    });
    const offCurve = pointOf(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey,
      'uncompressed',
    );
    offCurve[64]! ^= 1;
    const notAPoint = verifyOcmfOpenSsl(vectors[0]!.ocmf, offCurve);
    expect(notAPoint.ok ? '' : notAPoint.message).toBe('signKey: is not a point of secp256r1');
    expect(parseOcmf(vectors[0]!.ocmf).ok).toBe(true);
  });

  it('reads PEM, hex and base64url keys, and refuses what is none of them', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const cases: [string, string][] = [
      [rsa.export({ type: 'spki', format: 'pem' }) as string, 'signKey: is not an elliptic-curve public key'],
      ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'signKey: is not a PEM public key'],
      ['hello', 'signKey: must be a SEC1 public key'],
      [b64uEncode(new Uint8Array(32).fill(2)), 'signKey: must be a SEC1 public key'],
    ];
    for (const [text, message] of cases) {
      const parsed = parseOcmfPublicKey(text);
      expect(parsed.ok ? 'parsed' : parsed.message).toContain(message);
    }
    const key = parseOcmfPublicKey(`  ${bytesToHex(b64uDecode(vectors[0]!.signKey)).toUpperCase()}\n`);
    expect(key.ok && key.value instanceof Uint8Array ? b64uEncode(key.value) : '').toBe(vectors[0]!.signKey);
  });
});
