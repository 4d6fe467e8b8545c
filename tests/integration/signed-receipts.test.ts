/**
 * Signed receipts end to end (PROTOCOL §8a) on the real system (broker, cloud service and gateway processes):
 * every way a session ends brings a receipt whose OCMF record the car verifies under the signKey of its
 * credential, with a PG that rises; the same record verifies in `evauth-cloud verify-receipt --pile` and in an
 * independent OCMF implementation (@road-labs/ocmf); a record under another key than the credential's (the pile
 * rotated without a re-export) is refused by the car.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Verifier } from '@road-labs/ocmf';
import { Crypto, EcPublicKey } from '@road-labs/ocmf-crypto-noble';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCloudCli } from '../../cloud/cli.test-support.js';
import { exportGateway } from '../../cloud/index.js';
import type { ChargingSession, VerifiedReceipt } from '../../head-unit/vehicle/index.js';
import { b64uDecode, parseOcmf } from '../../shared/index.js';
import { receiptPage as pageOf } from '../support/receipts.js';
import { credentialFor, GID, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({ meterIntervalMs: 100, cloudReconcileMs: 500 }).start();
}, 60_000);

afterAll(async () => {
  await system?.close();
});

async function firstMeter(session: ChargingSession): Promise<void> {
  if (session.meters.length === 0) await session.once('meter');
}

describe('signed receipts', () => {
  it('a session’s receipt verifies in the car, in evauth-cloud verify-receipt --pile and in @road-labs/ocmf', async () => {
    const car = await system.addVehicle('RCPT-1', { scope: 'all' });
    const client = await system.vehicle(car);
    const credential = await credentialFor(client, 'IT-P1');
    const pile = await system.registry.requirePile('IT-P1');
    expect(credential.signKey).toBe(pile.sign_key);
    const outcome = await client.authenticate('IT-P1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    while (outcome.session.meters.length < 3) await outcome.session.once('meter');
    const receipt = await outcome.session.stop();
    expect(receipt.signedByCharger).toBe(true);
    expect(outcome.session.rejected).toEqual([]);
    const record = parseOcmf(receipt.ocmf!);
    if (!record.ok) throw new Error(record.message);
    expect(record.value.payload).toMatchObject({
      GS: 'IT-P1',
      ID: credential.tid,
      CI: 'IT-P1*1',
      RD: [
        { TX: 'B', RV: 0 },
        { TX: 'E', RV: receipt.receipt.wh / 1000 },
      ],
    });
    expect(record.value.payload.RD[0]!.TM).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3}\+0000 S$/);

    const file = path.join(system.dataDir, 'receipt.ocmf');
    fs.writeFileSync(file, `${receipt.ocmf}\n`);
    const cli = runCloudCli(['--data', system.dataDir, 'verify-receipt', file, '--pile', 'IT-P1']);
    expect(cli.stdout).toContain(`  energy           ${(receipt.receipt.wh / 1000).toFixed(3)} kWh`);
    expect(cli.stdout).toContain('1 record: all valid');
    expect(cli.code).toBe(0);

    const independent = await new Verifier(new Crypto()).parseAndVerify(
      receipt.ocmf!,
      new EcPublicKey(b64uDecode(pile.sign_key!), 'secp256r1'),
    );
    expect(independent.verified).toBe(true);
  }, 60_000);

  it('signs the receipt of every way a session ends, with a PG that rises', async () => {
    const car = await system.addVehicle('RCPT-2', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P3');
    const receipts: VerifiedReceipt[] = [];
    const start = async (connector: number) => {
      const outcome = await client.authenticate('IT-P3', connector);
      if (!outcome.ok) throw new Error(outcome.message);
      await firstMeter(outcome.session);
      return outcome.session;
    };

    receipts.push(await (await start(1)).stop());
    const unplugged = await start(2);
    await system.gatewayAction('IT-P3', 2, 'unplug');
    receipts.push(await unplugged.ended);
    await system.gatewayAction('IT-P3', 2, 'plug');
    const faulted = await start(1);
    await system.gatewayAction('IT-P3', 1, 'fault');
    receipts.push(await faulted.ended);
    await system.gatewayAction('IT-P3', 1, 'clear');

    const capped = await system.addVehicle('RCPT-CAP', { scope: 'pile', target: 'IT-P3' });
    await system.registry.grant('RCPT-CAP', { scope: 'pile', target: 'IT-P3', maxWh: 30 });
    const cappedClient = await system.vehicle(capped);
    while (cappedClient.usableCredential('IT-P3')?.parsed.body.maxWh !== 30)
      await cappedClient.once('credential');
    const cap = await cappedClient.authenticate('IT-P3', 2);
    if (!cap.ok) throw new Error(cap.message);
    receipts.push(await cap.session.ended);

    expect(receipts.map((r) => r.receipt.reason)).toEqual(['stopped', 'unplugged', 'fault', 'energy-cap']);
    expect(receipts.every((r) => r.signedByCharger && r.ocmf?.startsWith('OCMF|'))).toBe(true);
    const pages = receipts.map(pageOf);
    expect(pages).toEqual([...pages].sort((a, b) => a - b));
    expect(new Set(pages).size).toBe(pages.length);
    // made on the gateway's receipt-signing thread (from source: under tsx's loader), never falling back
    expect(system.gateway.output).not.toContain('receipt-signing thread');
  }, 60_000);

  it('a record under another key than the credential’s is refused by the car; a re-export mends it', async () => {
    const car = await system.addVehicle('RCPT-3', { scope: 'pile', target: 'IT-P2' });
    const client = await system.vehicle(car);
    const before = await credentialFor(client, 'IT-P2');
    // The pile's key rotates, the car gets a credential with the new one, the gateway still signs with the old.
    const rotated = await system.registry.rotateSignKey('IT-P2');
    while (client.usableCredential('IT-P2')?.signKey !== rotated.current) await client.once('credential');
    expect(client.usableCredential('IT-P2')?.tid).not.toBe(before.tid);
    const outcome = await client.authenticate('IT-P2', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    await firstMeter(outcome.session);
    await expect(outcome.session.stop({ timeoutMs: 2000, retryMs: 500 })).rejects.toThrow(/no receipt/);
    expect(outcome.session.receipt).toBeUndefined();
    expect(outcome.session.rejected.map((r) => r.code)).toContain('BAD_OCMF');
    expect(outcome.session.rejected[0]!.message).toBe(
      'receipt OCMF record refused: SD: does not verify under this key',
    );

    await system.gateway.stop('SIGTERM');
    await exportGateway(system.dataDir, GID, {
      mqttUrl: system.nodeUrls('mqtt', 1),
      outDir: system.gatewayDir,
      httpPort: 0,
      meterIntervalMs: 100,
    });
    await system.startGateway();
    const again = await client.authenticate('IT-P2', 2);
    if (!again.ok) throw new Error(again.message);
    await firstMeter(again.session);
    const receipt = await again.session.stop();
    expect(receipt.signedByCharger).toBe(true);
  }, 60_000);
});
