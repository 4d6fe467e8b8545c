/**
 * Scenario 4: the same handshake shape done the ISO 15118 Plug & Charge way, with ECDSA P-256 certificates,
 * measured in the same run as ours, on @noble/curves (what a browser head unit runs) and on node:crypto
 * (OpenSSL).
 *
 * Model (crypto only, no X.509 DER): a certificate is a to-be-signed byte string of realistic size (~480 bytes:
 * names, validity, extensions and the subject's 65-byte public key) plus the issuer's ECDSA-SHA256 signature.
 *  - Pile (SECC), per authorisation: verify the vehicle's contract chain (leaf ← MO Sub-CA 2 ← MO Sub-CA 1,
 *    anchored at a pre-installed root: 3 verifications) and the vehicle's signature over the pile's challenge
 *    (1 verification): 4 ECDSA verifications and 3 public-key imports.
 *  - Vehicle (EV), per authorisation: verify the pile's chain (SECC leaf ← CPO Sub-CA 2 ← CPO Sub-CA 1: 3
 *    verifications) and sign the challenge (1 signature).
 * The TLS handshake's ECDHE and server signature, OCSP and XML canonicalisation are left out, so the ISO figures
 * are a lower bound.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { nodeCryptoBackend } from '../../node/crypto.js';
import { type CryptoBackend, installCryptoBackend, nobleBackend } from '../../shared/crypto/backend.js';
import { PileAuthenticator, PileControlState, secureRandom, VehicleHandshake } from '../../shared/index.js';
import { handleAndCommit, issueTestCredential } from '../../shared/testing.js';
import { round2 } from '../lib/stats.js';

interface Cert {
  tbs: Uint8Array;
  /** subject public key, uncompressed point (65 bytes) */
  publicKey: Uint8Array;
  /** issuer's signature, IEEE P1363 r||s (64 bytes) */
  signature: Uint8Array;
}

interface Authority {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const TBS_BYTES = 480;

function authority(): Authority {
  const { secretKey } = p256.keygen();
  return { secretKey, publicKey: p256.getPublicKey(secretKey, false) };
}

/** A TBS of realistic size that embeds the subject key, signed by the issuer. */
function certify(subject: Authority, issuer: Authority): Cert {
  const tbs = new Uint8Array(TBS_BYTES);
  tbs.set(randomBytes(TBS_BYTES));
  tbs.set(subject.publicKey, 200);
  return { tbs, publicKey: subject.publicKey, signature: p256.sign(tbs, issuer.secretKey) };
}

/** root → sub1 → sub2 → leaf; returns the chain as sent on the wire (leaf first) and the leaf's key. */
function chain(root: Authority): { certs: Cert[]; leaf: Authority } {
  const sub1 = authority();
  const sub2 = authority();
  const leaf = authority();
  return { certs: [certify(leaf, sub2), certify(sub2, sub1), certify(sub1, root)], leaf };
}

const SPKI_P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
function nodePublicKey(point: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_P256_PREFIX, point]), format: 'der', type: 'spki' });
}
function nodePrivateKey(a: Authority): KeyObject {
  const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64url');
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: b64(a.secretKey),
      x: b64(a.publicKey.subarray(1, 33)),
      y: b64(a.publicKey.subarray(33, 65)),
    },
    format: 'jwk',
  });
}

interface EcdsaImpl {
  name: string;
  /** verifies a chain (leaf first) against the anchor; returns the leaf key handle */
  verifyChain(certs: Cert[]): unknown;
  verifySignature(key: unknown, message: Uint8Array, signature: Uint8Array): boolean;
  signChallenge(message: Uint8Array): Uint8Array;
}

function nobleImpl(rootKey: Uint8Array, vehicleKey: Authority): EcdsaImpl {
  return {
    name: 'noble',
    verifyChain(certs) {
      let issuerKey = rootKey;
      for (let i = certs.length - 1; i >= 0; i--) {
        const c = certs[i]!;
        if (!p256.verify(c.signature, c.tbs, issuerKey)) throw new Error('chain does not verify');
        issuerKey = c.publicKey;
      }
      return issuerKey;
    },
    verifySignature: (key, message, signature) => p256.verify(signature, message, key as Uint8Array),
    signChallenge: (message) => p256.sign(message, vehicleKey.secretKey),
  };
}

function openSslImpl(rootKey: Uint8Array, vehicleKey: Authority): EcdsaImpl {
  const anchor = nodePublicKey(rootKey);
  const signer = nodePrivateKey(vehicleKey);
  const verify = (key: KeyObject, data: Uint8Array, signature: Uint8Array) =>
    nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  return {
    name: 'OpenSSL',
    verifyChain(certs) {
      let issuerKey = anchor;
      for (let i = certs.length - 1; i >= 0; i--) {
        const c = certs[i]!;
        if (!verify(issuerKey, c.tbs, c.signature)) throw new Error('chain does not verify');
        issuerKey = nodePublicKey(c.publicKey); // each received certificate's key is imported per use
      }
      return issuerKey;
    },
    verifySignature: (key, message, signature) => verify(key as KeyObject, message, signature),
    signChallenge: (message) =>
      new Uint8Array(nodeSign('sha256', message, { key: signer, dsaEncoding: 'ieee-p1363' })),
  };
}

export interface CostRow {
  scheme: 'evauth' | 'ISO 15118 (ECDSA P-256)';
  side: 'pile' | 'vehicle';
  library: string;
  medianUs: number;
  p99Us: number;
  perSecondOneCore: number;
}

export interface IsoComparison {
  rows: CostRow[];
  /** ISO median / evauth median, per side and library */
  ratios: { side: 'pile' | 'vehicle'; library: string; isoOverEvauth: number }[];
  note: string;
}

function timeEach(
  count: number,
  fn: (i: number) => number,
): { medianUs: number; p99Us: number; perSec: number } {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = fn(i);
  samples.sort();
  const total = samples.reduce((a, b) => a + b, 0);
  return {
    medianUs: round2(samples[Math.floor(count / 2)]! * 1000),
    p99Us: round2(samples[Math.min(count - 1, Math.floor(count * 0.99))]! * 1000),
    perSec: Math.round((count / total) * 1000),
  };
}

/** Our handshake, pile work and vehicle work timed separately (ms per handshake). */
function evauthCosts(backend: CryptoBackend, count: number): { pile: number[]; vehicle: number[] } {
  installCryptoBackend(backend);
  const rootKey = secureRandom(32);
  const pid = 'PILE-ISO';
  const nowMs = Date.now();
  const nowS = Math.floor(nowMs / 1000);
  const pile = new PileAuthenticator({
    pid,
    rootKey,
    connectors: [{ id: 1, maxW: 150_000 }],
    tariff: { pricePerKWh: '0.39', currency: 'EUR' },
    control: PileControlState.fromKeyOffset(0),
    now: () => nowMs,
    random: secureRandom,
    limits: { requestsPerVehiclePerMinute: 1e9, maxPending: 1e6, replayCapacity: 1e6 },
  });
  const pileMs: number[] = [];
  const vehicleMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const vid = `V${i % 64}`;
    const credential = issueTestCredential(
      rootKey,
      { vid, pid, off: 0, iat: nowS, nbf: nowS, exp: nowS + 3600 },
      secureRandom,
    );
    let t = performance.now();
    const vehicle = new VehicleHandshake({
      vid,
      credential,
      connector: 1,
      now: () => nowMs,
      random: secureRandom,
    });
    const request = vehicle.start().payload;
    let v = performance.now() - t;
    t = performance.now();
    const challenge = pile.handle(request).find((o) => o.kind === 'send');
    let p = performance.now() - t;
    if (challenge?.kind !== 'send') throw new Error('no challenge');
    t = performance.now();
    vehicle.receive(challenge.payload);
    const response = vehicle.confirmOffer().payload;
    v += performance.now() - t;
    t = performance.now();
    const result = handleAndCommit(pile, response).find((o) => o.kind === 'send');
    p += performance.now() - t;
    if (result?.kind !== 'send') throw new Error('no result');
    t = performance.now();
    const events = vehicle.receive(result.payload);
    v += performance.now() - t;
    if (!events.some((e) => e.kind === 'authorized')) throw new Error('not authorised');
    pile.release(1);
    pileMs.push(p);
    vehicleMs.push(v);
  }
  return { pile: pileMs, vehicle: vehicleMs };
}

function summarizeMs(name: Omit<CostRow, 'medianUs' | 'p99Us' | 'perSecondOneCore'>, ms: number[]): CostRow {
  const t = timeEach(ms.length, (i) => ms[i]!);
  return { ...name, medianUs: t.medianUs, p99Us: t.p99Us, perSecondOneCore: t.perSec };
}

export function isoComparison(quick: boolean): IsoComparison {
  const n = quick ? 1500 : 5000;
  const rows: CostRow[] = [];

  for (const backend of [nobleBackend, nodeCryptoBackend]) {
    const library = backend === nobleBackend ? 'noble' : 'OpenSSL';
    evauthCosts(backend, Math.min(1000, n)); // warm-up
    const costs = evauthCosts(backend, n);
    rows.push(summarizeMs({ scheme: 'evauth', side: 'pile', library }, costs.pile));
    rows.push(summarizeMs({ scheme: 'evauth', side: 'vehicle', library }, costs.vehicle));
  }
  installCryptoBackend(nobleBackend);

  const v2gRoot = authority();
  const moRoot = authority();
  const contract = chain(moRoot); // the vehicle's contract certificate chain
  const secc = chain(v2gRoot); // the pile's chain
  for (const make of [nobleImpl, openSslImpl]) {
    const pileImpl = make(moRoot.publicKey, contract.leaf);
    const vehicleImpl = make(v2gRoot.publicKey, contract.leaf);
    // noble's P-256 is ~20x slower than OpenSSL's: fewer rounds keep the run short.
    const nIso = make === nobleImpl ? (quick ? 100 : 500) : quick ? 500 : 3000;
    const challenges = Array.from({ length: nIso + 50 }, () => new Uint8Array(randomBytes(120)));
    const signatures = challenges.map((c) => vehicleImpl.signChallenge(c));
    const pileOnce = (i: number) => {
      const t = performance.now();
      const leafKey = pileImpl.verifyChain(contract.certs);
      if (!pileImpl.verifySignature(leafKey, challenges[i]!, signatures[i]!))
        throw new Error('bad challenge');
      return performance.now() - t;
    };
    const vehicleOnce = (i: number) => {
      const t = performance.now();
      vehicleImpl.verifyChain(secc.certs);
      vehicleImpl.signChallenge(challenges[i]!);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) {
      pileOnce(i);
      vehicleOnce(i);
    }
    const pt = timeEach(nIso, pileOnce);
    const vt = timeEach(nIso, vehicleOnce);
    const scheme = 'ISO 15118 (ECDSA P-256)' as const;
    rows.push({
      scheme,
      side: 'pile',
      library: pileImpl.name,
      medianUs: pt.medianUs,
      p99Us: pt.p99Us,
      perSecondOneCore: pt.perSec,
    });
    rows.push({
      scheme,
      side: 'vehicle',
      library: vehicleImpl.name,
      medianUs: vt.medianUs,
      p99Us: vt.p99Us,
      perSecondOneCore: vt.perSec,
    });
  }

  const ratios: IsoComparison['ratios'] = [];
  for (const side of ['pile', 'vehicle'] as const) {
    for (const library of ['noble', 'OpenSSL']) {
      const ours = rows.find((r) => r.scheme === 'evauth' && r.side === side && r.library === library);
      const iso = rows.find((r) => r.scheme !== 'evauth' && r.side === side && r.library === library);
      if (ours && iso)
        ratios.push({ side, library, isoOverEvauth: Math.round(iso.medianUs / ours.medianUs) });
    }
  }
  return {
    rows,
    ratios,
    note: 'ISO side modelled as signed TBS byte strings (480 B) with ECDSA-SHA256 P-256, not X.509 DER; TLS ECDHE, OCSP and EXI/XML signature processing left out (the ISO cost is a lower bound). evauth figures include JSON, schema validation, HKDF/HMAC and the XChaCha20-Poly1305 offer.',
  };
}
