/**
 * The services as an operator runs them: built by `npm run build:services` and started with plain node and the
 * services' flags, no tsx. The core flow through the built broker and gateway, the gateway's worker-thread WAL
 * checkpoints and receipt-signing thread included, the operator page beside the built gateway, and clean exits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStore } from '../../pile-gateway/store.js';
import { buildServices } from '../../scripts/build-services.js';
import { verifyReceipt } from '../../shared/index.js';
import { credentialFor, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  const built = await buildServices();
  system = await new TestSystem({ built }).start();
}, 60_000);

afterAll(async () => {
  await system?.close();
});

describe('built services', () => {
  it('run without tsx and carry a whole session', async () => {
    for (const service of [system.gateway, system.broker]) {
      const cmdline = fs.readFileSync(`/proc/${service.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toContain('--single-threaded-gc');
      expect(cmdline.some((arg) => arg.endsWith('.mjs') && arg.includes('dist/services'))).toBe(true);
      expect(cmdline.join(' ')).not.toContain('tsx');
    }
    const car = await system.addVehicle('BUILT-CAR', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P1');
    const outcome = await client.authenticate('IT-P1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    while (outcome.session.meters.length < 2) await outcome.session.once('meter');
    const receipt = await outcome.session.stop();
    expect(receipt.receipt.reason).toBe('stopped');
    // signed in OCMF on the receipt-signing thread, whose module sits beside the built gateway
    expect(receipt.receipt.ocmf).toMatch(/^OCMF\|/);
    expect(system.gateway.output).not.toContain('receipt-signing thread');
    // The record is on disk with its receipt, verifiable with the stored SK.
    const store = new SessionStore(path.join(system.gatewayDir, 'data'), { sync: 'full' });
    const record = store.get(outcome.session.sid);
    store.closeDatabase();
    expect(record?.state).toBe('closed');
    const end = JSON.parse(record!.receipt!) as { body: string; mac: string };
    expect(verifyReceipt(record!.sk, Buffer.from(record!.sid, 'base64url'), end.body, end.mac)).toBe(true);
  });

  it('the built gateway serves its operator page and, with the token, its view', async () => {
    const base = `http://127.0.0.1:${system.gatewayHttpPort}/operator/`;
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<operator-app>');
    const view = await fetch(`${base}api/view`, {
      headers: { authorization: `Bearer ${system.gatewayToken}` },
    });
    expect((await view.json()).piles.map((p: { pid: string }) => p.pid)).toEqual(['IT-P1', 'IT-P2', 'IT-P3']);
  });

  it('stop cleanly on SIGTERM', async () => {
    expect((await system.gateway.stop('SIGTERM')).code).toBe(0);
    expect(system.gateway.output).toContain('"msg":"gateway stopped"');
    expect((await system.broker.stop('SIGTERM')).code).toBe(0);
  });
});
