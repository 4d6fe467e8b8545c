/** Micro-benchmarks of the protocol core (issue: pile side <= 40 µs, vehicle side <= 60 µs median). */

import { nodeCryptoBackend, pooledSecureRandom } from '../node/crypto.js';
import { createOcmfSigner } from '../node/receipt-signing.js';
import { buildPileControl } from '../shared/control.js';
import { deriveSealKey, openCredential, sealCredential } from '../shared/credential.js';
import { installCryptoBackend, nobleBackend } from '../shared/crypto/backend.js';
import { b64uEncode } from '../shared/crypto/bytes.js';
import { deriveControlKey } from '../shared/crypto/kdf.js';
import {
  buildReceiptOcmfPayload,
  checkReceiptOcmf,
  PileAuthenticator,
  PileControlState,
  PileSession,
  signKeyOf,
  VehicleHandshake,
  VehicleSession,
} from '../shared/index.js';
import { secureRandom } from '../shared/random.js';
import { handleAndCommit, issueTestCredential, seededRandom } from '../shared/testing.js';

export interface BenchRow {
  name: string;
  medianUs: number;
  p99Us: number;
  opsPerSec: number;
  targetUs?: number;
}

/** Runs fn `iterations` times in batches and reports the median and p99 of per-op time. */
export function measure(name: string, iterations: number, fn: () => void, targetUs?: number): BenchRow {
  const batch = 50;
  for (let i = 0; i < Math.min(2000, iterations); i++) fn(); // warm-up for the JIT
  const samples: number[] = [];
  const start = performance.now();
  for (let done = 0; done < iterations; done += batch) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  const totalMs = performance.now() - start;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  const row: BenchRow = {
    name,
    medianUs: round(at(0.5)),
    p99Us: round(at(0.99)),
    opsPerSec: Math.round((iterations / totalMs) * 1000),
  };
  if (targetUs !== undefined) row.targetUs = targetUs;
  return row;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function protocolBench(quick: boolean): BenchRow[] {
  const n = quick ? 5_000 : 30_000;
  const random = secureRandom;
  const rootKey = seededRandom('bench-root')(32);
  const pid = 'PILE-BENCH';
  const vid = 'VEH-BENCH';
  const nowMs = Date.UTC(2026, 10, 25) as number;
  const now = () => nowMs;
  const nowS = Math.floor(nowMs / 1000);
  const credential = issueTestCredential(
    rootKey,
    { vid, pid, off: 0, iat: nowS, nbf: nowS, exp: nowS + 7 * 86400 },
    random,
  );

  const makeVehicle = () => new VehicleHandshake({ vid, credential, connector: 1, now, random });
  const makePile = (pileRandom = random) =>
    new PileAuthenticator({
      pid,
      rootKey,
      connectors: [{ id: 1, maxW: 150_000 }],
      tariff: { pricePerKWh: '0.39', currency: 'EUR' },
      control: PileControlState.fromKeyOffset(0),
      now,
      random: pileRandom,
      limits: {
        requestsPerVehiclePerMinute: Number.MAX_SAFE_INTEGER,
        maxPending: 1_000_000,
        replayCapacity: 1_000_000,
      },
    });
  const pile = makePile();
  const rows: BenchRow[] = [];

  // A full pile-side handshake in one op: fresh vehicle messages are built outside the timed region in batches.
  const runPileHandshakes = (count: number, pileRandom = random): BenchRow => {
    const items: { request: string; vehicle: VehicleHandshake }[] = [];
    for (let i = 0; i < count; i++) {
      const vehicle = makeVehicle();
      items.push({ request: vehicle.start().payload, vehicle });
    }
    // Batches of 8 concurrent handshakes, as a busy pile would see (the pile allows 16 pending).
    const pendingPile = makePile(pileRandom);
    const perOp: number[] = [];
    for (let start = 0; start < items.length; start += 8) {
      const batch = items.slice(start, start + 8);
      const responses: string[] = [];
      for (const item of batch) {
        const a = performance.now();
        const out = pendingPile.handle(item.request);
        perOp.push(performance.now() - a);
        const send = out.find((o) => o.kind === 'send');
        if (send?.kind !== 'send') throw new Error('pile did not answer');
        item.vehicle.receive(send.payload);
        responses.push(item.vehicle.confirmOffer().payload);
      }
      let i = perOp.length - batch.length;
      for (const r of responses) {
        const a = performance.now();
        const out = handleAndCommit(pendingPile, r);
        perOp[i++]! += performance.now() - a;
        if (!out.some((o) => o.kind === 'authorized')) throw new Error('not authorized');
        pendingPile.release(1);
      }
    }
    perOp.sort((a, b) => a - b);
    const med = (perOp[Math.floor(perOp.length / 2)] ?? 0) * 1000;
    const p99 = (perOp[Math.floor(perOp.length * 0.99)] ?? 0) * 1000;
    const total = perOp.reduce((s, x) => s + x, 0);
    return {
      name: 'pile side of one handshake',
      medianUs: round(med),
      p99Us: round(p99),
      opsPerSec: Math.round((count / total) * 1000),
      targetUs: 40,
    };
  };
  // The gateway runs on OpenSSL (node:crypto); the noble figure is what a browser or pure-JS pile would do.
  for (const backend of [nobleBackend, nodeCryptoBackend]) {
    installCryptoBackend(backend);
    // The gateway draws its randomness from a pooled CSPRNG (pooledSecureRandom); the browser from Web Crypto.
    const pileRandom = backend === nodeCryptoBackend ? pooledSecureRandom() : random;
    runPileHandshakes(Math.min(3000, n), pileRandom); // warm-up
    const row = runPileHandshakes(quick ? 5_000 : 20_000, pileRandom);
    row.name = `pile side of one handshake (${backend.name})`;
    if (backend !== nodeCryptoBackend) delete row.targetUs;
    rows.push(row);
  }
  rows.push(controlApplyRow(quick, pid, nowS));
  // The head unit runs in a browser: the vehicle side is measured on noble.
  installCryptoBackend(nobleBackend);

  // Vehicle side: start, receive challenge, confirm, receive result (pile work excluded).
  const vehicleSide = (count: number): BenchRow => {
    const perOp: number[] = [];
    for (let i = 0; i < count; i++) {
      const vehicle = makeVehicle();
      let a = performance.now();
      const request = vehicle.start().payload;
      let spent = performance.now() - a;
      const challenge = pile.handle(request).find((o) => o.kind === 'send');
      if (challenge?.kind !== 'send') throw new Error('no challenge');
      a = performance.now();
      vehicle.receive(challenge.payload);
      const response = vehicle.confirmOffer().payload;
      spent += performance.now() - a;
      const result = handleAndCommit(pile, response).find((o) => o.kind === 'send');
      if (result?.kind !== 'send') throw new Error('no result');
      a = performance.now();
      const events = vehicle.receive(result.payload);
      spent += performance.now() - a;
      if (!events.some((e) => e.kind === 'authorized')) throw new Error('vehicle not authorized');
      pile.release(1);
      perOp.push(spent);
    }
    perOp.sort((x, y) => x - y);
    const total = perOp.reduce((s, x) => s + x, 0);
    return {
      name: 'vehicle side of one handshake',
      medianUs: round((perOp[Math.floor(perOp.length / 2)] ?? 0) * 1000),
      p99Us: round((perOp[Math.floor(perOp.length * 0.99)] ?? 0) * 1000),
      opsPerSec: Math.round((count / total) * 1000),
      targetUs: 60,
    };
  };
  vehicleSide(Math.min(2000, n));
  rows.push(vehicleSide(quick ? 3000 : 10_000));

  // Credential seal / open.
  const sealKey = deriveSealKey(rootKey, vid);
  const content = {
    ticket: credential.ticket,
    ak: credential.ak,
    pid,
    tid: credential.tid,
    exp: credential.exp,
  };
  const nonce = random(24);
  const sealed = sealCredential(sealKey, vid, content, nonce);
  rows.push(measure('credential seal', n, () => sealCredential(sealKey, vid, content, nonce)));
  rows.push(
    measure('credential open', n, () => {
      if (!openCredential(sealKey, sealed.topic, sealed.payload).ok) throw new Error('open failed');
    }),
  );

  // Meter sign / verify.
  const sk = random(32);
  const sidBytes = random(16);
  const sid = Buffer.from(sidBytes).toString('base64url');
  const pileSession = new PileSession({ sid, sk, meterSeq: 0, stopSeq: 0 });
  let wh = 0;
  rows.push(
    measure('meter sign', n, () =>
      pileSession.signMeter({ ts: nowS, wh: wh++, w: 50_000, state: 'charging' }),
    ),
  );
  const vehicleSession = new VehicleSession({
    sid,
    sidBytes,
    vid,
    pid,
    connector: 1,
    sk,
    offer: { connector: 1, maxW: 1, pricePerKWh: '0.39', currency: 'EUR', expiresAt: nowS },
  });
  const meters: string[] = [];
  for (let i = 0; i < n + 2000; i++)
    meters.push(JSON.stringify(pileSession.signMeter({ ts: nowS, wh: wh++, w: 1, state: 'charging' })));
  let m = 0;
  rows.push(
    measure('meter verify', n, () => {
      if (vehicleSession.receive(meters[m++]!).kind !== 'meter') throw new Error('meter refused');
    }),
  );
  rows.push(...receiptRows(quick, credential.tid, pid));
  return rows;
}

/**
 * PROTOCOL §8a, once per session: the gateway builds and signs the OCMF receipt on OpenSSL (its key imported
 * once per pile); the head unit parses, verifies (noble, as in the browser) and matches it to the session.
 */
function receiptRows(quick: boolean, tid: string, pid: string): BenchRow[] {
  // ECDSA costs about a thousand times a MAC: far fewer rounds than the rows above.
  const n = quick ? 500 : 3_000;
  const signingKey = seededRandom('bench-receipt')(32);
  const sign = createOcmfSigner(signingKey);
  const startedAt = Math.floor(Date.UTC(2026, 10, 25) / 1000);
  let pg = 0;
  const buildAndSign = () => {
    pg += 1;
    const { text } = buildReceiptOcmfPayload({
      pid,
      connector: 1,
      tid,
      gi: 'evauth-gateway',
      pg,
      startedAt,
      endedAt: startedAt + 3600,
      startWh: 1_000_000 + pg,
      endWh: 1_020_000 + pg,
    });
    return sign(text);
  };
  const signRow = measure('receipt build and sign (OCMF, node:crypto)', n, buildAndSign);
  const receipts = Array.from({ length: n + Math.min(2000, n) }, buildAndSign);
  const expected = { signKey: signKeyOf(signingKey), tid, pid, connector: 1, wh: 20_000 };
  let r = 0;
  const verifyRow = measure('receipt verify (OCMF, noble, as the head unit)', n, () => {
    if (!checkReceiptOcmf(receipts[r++]!, expected).ok) throw new Error('receipt refused');
  });
  return [signRow, verifyRow];
}

/**
 * A gateway applying the largest pile.control (PROTOCOL §7 revision 2: 256 KiB, here 2,300 revoked tickets and
 * 2,600 revoked vehicles), on OpenSSL as the gateway runs: the event loop is held this long when one arrives.
 */
function controlApplyRow(quick: boolean, pid: string, nowS: number): BenchRow {
  const random = seededRandom('bench-control');
  const controlKey = deriveControlKey(random(32), pid);
  const revoked = Array.from({ length: 2300 }, () => ({ tid: b64uEncode(random(16)), exp: nowS + 86400 }));
  const revokedVehicles = Array.from({ length: 2600 }, (_, i) => ({
    vid: `VEH-${String(i).padStart(6, '0')}`,
    until: nowS + 86400,
  }));
  const payload = Buffer.from(
    JSON.stringify(
      buildPileControl(controlKey, pid, {
        seq: 1,
        issuedAt: nowS,
        keyOffset: { current: 0, accept: [0] },
        revoked,
        revokedVehicles,
      }),
    ),
  );
  return measure(
    `pile.control apply (${Math.round(payload.length / 1024)} KiB, 4,900 revocations)`,
    quick ? 100 : 400,
    () => {
      if (!PileControlState.fromKeyOffset(0).apply(controlKey, pid, payload, nowS).ok)
        throw new Error('refused');
    },
  );
}
