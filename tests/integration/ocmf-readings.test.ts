/**
 * Signed intermediate readings on the real system (broker, cloud service and gateway processes): a gateway with
 * ocmfReadingIntervalMs signs TX T readings between B and E into a session's OCMF record, rising with the
 * session's energy; the car verifies the record as any other, and so do `evauth-cloud verify-receipt --pile` and
 * an independent OCMF implementation (@road-labs/ocmf); readings kept before a SIGKILL are in the receipt the
 * restarted gateway sends.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Verifier } from '@road-labs/ocmf';
import { Crypto, EcPublicKey } from '@road-labs/ocmf-crypto-noble';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCloudCli } from '../../cloud/cli.test-support.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { b64uDecode, parseOcmf, parseOcmfTime } from '../../shared/index.js';
import { credentialFor, SITE_A, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({
    piles: { 'IT-P1': SITE_A },
    meterIntervalMs: 50,
    ocmfReadingIntervalMs: 150,
  }).start();
}, 60_000);

afterAll(async () => {
  await system?.close();
});

describe('signed intermediate readings (OCMF TX T)', () => {
  it('a session of about a second carries T readings between B and E, rising, verified everywhere', async () => {
    const car = await system.addVehicle('TREAD-1', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P1');
    const outcome = await client.authenticate('IT-P1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    await new Promise((r) => setTimeout(r, 1_100));
    const receipt = await outcome.session.stop();
    expect(receipt.signedByCharger).toBe(true);
    expect(outcome.session.rejected).toEqual([]);

    const record = parseOcmf(receipt.ocmf!);
    if (!record.ok) throw new Error(record.message);
    const rd = record.value.payload.RD;
    const kinds = rd.map((r) => r.TX).join('');
    console.log(
      kinds,
      rd.map((r) => r.RV),
    );
    // about one every 150 ms of the ~1.1 s: B, at least four T, E
    expect(kinds).toMatch(/^BT{4,}E$/);
    expect(rd.every((r) => r.RI === '1-b:1.8.0' && r.RU === 'kWh' && r.ST === 'G')).toBe(true);
    const rv = rd.map((r) => r.RV);
    expect(rv).toEqual([...rv].sort((a, b) => a - b));
    expect(rv.at(-2)!).toBeGreaterThan(rv[1]!);
    expect(rv.at(-1)).toBe(receipt.receipt.wh / 1000);
    const times = rd.map((r) => parseOcmfTime(r.TM)!.epochMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const file = path.join(system.dataDir, 'readings.ocmf');
    fs.writeFileSync(file, `${receipt.ocmf}\n`);
    const cli = runCloudCli(['--data', system.dataDir, 'verify-receipt', file, '--pile', 'IT-P1']);
    expect(cli.stdout.match(/^ {2}reading T /gm)).toHaveLength(kinds.length - 2);
    expect(cli.stdout).toContain('1 record: all valid');
    expect(cli.code).toBe(0);

    const pile = await system.registry.requirePile('IT-P1');
    const independent = await new Verifier(new Crypto()).parseAndVerify(
      receipt.ocmf!,
      new EcPublicKey(b64uDecode(pile.sign_key!), 'secp256r1'),
    );
    expect(independent.verified).toBe(true);
    const theirs = independent.value?.payloadData as { RD: { TX: string }[] } | undefined;
    expect(theirs?.RD.map((r) => r.TX).join('')).toBe(kinds);
  }, 60_000);

  it('the readings kept before a SIGKILL are signed into the receipt the restarted gateway sends', async () => {
    const car = await system.addVehicle('TREAD-2', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P1');
    const outcome = await client.authenticate('IT-P1', 2);
    if (!outcome.ok) throw new Error(outcome.message);
    await new Promise((r) => setTimeout(r, 700));
    await system.gateway.stop('SIGKILL');
    const store = new SessionStore(path.join(system.gatewayDir, 'data'));
    const kept = JSON.parse(store.get(outcome.session.sid)?.ocmfReadings ?? '[]') as { wh: number }[];
    store.closeDatabase();
    expect(kept.length).toBeGreaterThanOrEqual(2);

    await system.startGateway();
    const receipt = await outcome.session.ended;
    expect(receipt.receipt.reason).toBe('gateway-restart');
    expect(receipt.signedByCharger).toBe(true);
    expect(outcome.session.rejected).toEqual([]);
    const record = parseOcmf(receipt.ocmf!);
    if (!record.ok) throw new Error(record.message);
    const t = record.value.payload.RD.filter((r) => r.TX === 'T');
    expect(t.map((r) => r.RV)).toEqual(kept.map((r) => r.wh / 1000));
  }, 60_000);
});
