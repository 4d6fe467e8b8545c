/** The full flow through real processes: broker, cloud, gateway, and the headless vehicle CLI. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSX } from '../../node/child-process.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { verifyReceipt } from '../../shared/index.js';
import { SITE_A, TestSystem } from '../support/system.js';

const run = promisify(execFile);
let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem().start();
});

afterAll(async () => {
  await system?.close();
});

describe('full flow with evauth-vehicle', () => {
  it('receives its credential, authenticates, verifies every meter and the receipt', async () => {
    await system.addVehicle('IT-CAR-A', { scope: 'site', target: SITE_A });
    const credentials = path.join(system.dataDir, 'car-a-credentials.json');
    const { stdout } = await run(TSX, [
      'head-unit/cli/main.ts',
      '-p',
      system.provisioningFile('IT-CAR-A'),
      '--pile',
      'IT-P1',
      '-c',
      '2',
      '-s',
      '2',
      '--credentials',
      credentials,
      '--json',
    ]);
    const out = JSON.parse(stdout);
    expect(out.ok).toBe(true);
    expect(out.steps.map((s: { step: string }) => s.step)).toEqual([
      'credential',
      'request-sent',
      'pile-verified',
      'offer',
      'response-sent',
      'authorized',
    ]);
    expect(out.offer).toMatchObject({ connector: 2, maxW: 150_000, pricePerKWh: '0.39', currency: 'EUR' });
    expect(out.meters.length).toBeGreaterThanOrEqual(5);
    expect(out.rejected).toEqual([]);
    const seqs = out.meters.map((m: { seq: number }) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(out.receipt.reason).toBe('stopped');
    expect(out.receipt.wh).toBeGreaterThan(0);
    expect(out.receipt.wh).toBeGreaterThanOrEqual(out.meters.at(-1).wh);

    // The gateway's durable record holds the same receipt, verifiable with its stored SK.
    const store = new SessionStore(path.join(system.gatewayDir, 'data'));
    const record = store.get(out.sid);
    store.closeDatabase();
    expect(record?.state).toBe('closed');
    expect(record?.receipt).toBe(JSON.stringify(out.receiptMessage));
    const sid = Buffer.from(out.sid, 'base64url');
    expect(verifyReceipt(record!.sk, sid, out.receiptMessage.body, out.receiptMessage.mac)).toBe(true);

    // A second run reuses the stored credential instead of asking again.
    const again = JSON.parse(
      (
        await run(TSX, [
          'head-unit/cli/main.ts',
          '-p',
          system.provisioningFile('IT-CAR-A'),
          '--pile',
          'IT-P1',
          '-s',
          '0',
          '--credentials',
          credentials,
          '--json',
        ])
      ).stdout,
    );
    expect(again.ok).toBe(true);
    expect(again.steps[0].detail.source).toBe('stored');
    const metrics = await system.gatewayMetrics();
    expect(metrics).toMatch(
      /evauth_gateway_handshakes_total\{outcome="authorized",code="OK",gid="gw-it"\} 2/,
    );
    expect(metrics).toMatch(/evauth_gateway_handshake_seconds_count\{gid="gw-it"\} 2/);
  });

  it('asks the cloud for a credential it lacks and is denied one it is not entitled to', async () => {
    const provisioning = await system.addVehicle('IT-CAR-B', { scope: 'pile', target: 'IT-P2' });
    const client = await system.vehicle(provisioning);
    const outcome = await client.authenticate('IT-P3', 1);
    expect(outcome.ok ? 'ok' : outcome.code).toBe('NO_CREDENTIAL');
    const ok = await client.authenticate('IT-P2', 1);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect((await ok.session.stop()).receipt.reason).toBe('stopped');
  });
});
