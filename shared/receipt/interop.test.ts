/**
 * An independent OCMF implementation (@road-labs/ocmf 0.0.9 with its noble backend) reads and verifies our
 * records, and we verify its. It knows only the spec's SA names (OCMF table 22), which is all a pile writes;
 * the aliases we also read are normalised for it in node/receipt-signing.test.ts.
 */
import { Signer, Verifier } from '@road-labs/ocmf';
import { Crypto, EcPrivateKey, EcPublicKey } from '@road-labs/ocmf-crypto-noble';
import { describe, expect, it } from 'vitest';
import {
  b64uDecode,
  buildReceiptOcmfPayload,
  checkReceiptOcmf,
  signOcmfPayload,
  verifyOcmf,
} from '../index.js';
import { payloadSection, receiptVectors } from './vectors.test-support.js';

const crypto = new Crypto();
const verifier = new Verifier(crypto);

/** The pile's key as the other library takes it: SEC1 bytes on its curve. */
const theirKey = (signKey: string) => new EcPublicKey(b64uDecode(signKey), 'secp256r1');

/**
 * The pile's scalar as the other library's private key. Its PKCS#8 reader wants the curve inside ECPrivateKey,
 * where OpenSSL 3 leaves it out (it writes it in the AlgorithmIdentifier only), so the key is made with the
 * class's own constructor, which TypeScript marks private.
 */
const theirPrivateKey = (scalar: Uint8Array): EcPrivateKey =>
  Reflect.construct(EcPrivateKey, [scalar, 'secp256r1', null]);

describe('@road-labs/ocmf reads our receipts and we read its', () => {
  for (const vector of receiptVectors()) {
    it(`${vector.name}: verifies the vector record, refuses the tampered one`, async () => {
      const good = await verifier.parseAndVerify(vector.ocmf, theirKey(vector.signKey));
      expect(good.verified).toBe(true);
      expect(good.value?.payloadData).toMatchObject({
        ID: vector.tid,
        CI: `${vector.pid}*${vector.connector}`,
      });
      const bad = await verifier.parseAndVerify(vector.tamperedOcmf, theirKey(vector.signKey));
      expect(bad.verified).toBe(false);
    });

    it(`${vector.name}: a fresh record of our builder and signer verifies there`, async () => {
      const { text } = buildReceiptOcmfPayload({
        pid: vector.pid,
        connector: vector.connector,
        tid: vector.tid,
        gi: 'evauth-gateway',
        pg: 1,
        startedAt: vector.startedAt,
        endedAt: vector.endedAt,
        startWh: 0,
        endWh: vector.wh,
        tzOffset: 60,
      });
      const ocmf = signOcmfPayload(text, vector.signingKey);
      expect((await verifier.parseAndVerify(ocmf, theirKey(vector.signKey))).verified).toBe(true);
    });

    it(`${vector.name}: its signature over our payload verifies here and passes the vehicle's check`, async () => {
      const payloadObject = JSON.parse(payloadSection(vector.ocmf));
      const theirs = await new Signer(crypto).sign(
        payloadObject,
        theirPrivateKey(vector.signingKey),
        'ECDSA-secp256r1-SHA256',
      );
      // It writes SD in capitals and leaves SE and SM to their defaults; the payload text is ours exactly.
      expect(payloadSection(theirs)).toBe(payloadSection(vector.ocmf));
      expect(theirs).not.toBe(vector.ocmf);
      expect(verifyOcmf(theirs, vector.signKey).ok).toBe(true);
      const checked = checkReceiptOcmf(theirs, {
        signKey: vector.signKey,
        tid: vector.tid,
        pid: vector.pid,
        connector: vector.connector,
        wh: vector.wh,
      });
      expect(checked.ok ? checked.value.energy.wh : checked.message).toBe(vector.wh);
    });
  }
});
