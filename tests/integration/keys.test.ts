/** Key rotation, revocation, and a pile whose root key is not the cloud's — end to end. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildService } from '../../node/child-process.js';
import { b64uEncode, secureRandom, type VehicleCredential } from '../../shared/index.js';
import { credentialFor, TestSystem } from '../support/system.js';

const DAY_MS = 24 * 3600 * 1000;
let shiftMs = 0;
let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({ cloudNow: () => Date.now() + shiftMs, cloudReconcileMs: 200 }).start();
});

afterAll(async () => {
  await system?.close();
});

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('keys end to end', () => {
  it('a pile whose root key is not the cloud’s cannot verify the request (BAD_REQUEST_MAC); the vehicle never sends auth.response', async () => {
    const car = await system.addVehicle('KEY-IMP', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P3');
    // The impostor: the same gateway login and piles, but its own idea of IT-P3's root key.
    const dir = path.join(system.dataDir, 'impostor');
    fs.mkdirSync(dir);
    const config = JSON.parse(fs.readFileSync(path.join(system.gatewayDir, 'config.json'), 'utf8'));
    const keystore = JSON.parse(fs.readFileSync(path.join(system.gatewayDir, 'keystore.json'), 'utf8'));
    for (const entry of keystore.piles)
      if (entry.pid === 'IT-P3') entry.rootKey = b64uEncode(secureRandom(32));
    fs.writeFileSync(path.join(dir, 'keystore.json'), JSON.stringify(keystore), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    await system.gateway.stop();
    const impostor = ChildService.node('impostor', 'pile-gateway/main.ts', [path.join(dir, 'config.json')], {
      env: { LOG_LEVEL: 'info' },
    });
    try {
      await impostor.start((out) => out.includes('"msg":"serving piles"'));
      // Revision 2: it derives another AK from the ticket, so the request's mac fails at step 5 and it refuses,
      // unMACed (the vehicle takes that as advisory). A pile that skipped the check would fail its own proof
      // instead (PILE_NOT_AUTHENTIC: e2e/counterfeit-pile.spec.ts); either way no proof of the vehicle goes out.
      const outcome = await client.authenticate('IT-P3', 1);
      expect(outcome.ok ? 'ok' : outcome.code).toBe('BAD_REQUEST_MAC');
      expect(outcome.ok ? true : outcome.authenticated).toBe(false);
      expect(outcome.steps.map((s) => s.step)).toEqual(['credential', 'request-sent', 'failed']);
      // The impostor never saw a response (no BAD_PROOF, no authorisation).
      const port = Number(/"httpPort":(\d+)/.exec(impostor.output)?.[1]);
      const deadline = Date.now() + 5000;
      let metrics = '';
      while (Date.now() < deadline && !metrics.includes('BAD_REQUEST_MAC')) {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      }
      expect(metrics).toMatch(
        /evauth_gateway_requests_refused_total\{code="BAD_REQUEST_MAC",gid="[^"]+"\} 1/,
      );
      expect(metrics).not.toMatch(/code="BAD_PROOF"/);
      expect(metrics).not.toMatch(/outcome="authorized"/);
    } finally {
      await impostor.stop();
      await system.startGateway();
    }
    const genuine = await client.authenticate('IT-P3', 1);
    expect(genuine.ok).toBe(true);
    if (genuine.ok) await genuine.session.stop();
  });

  it('revocation: REVOKED at the pile and the credential withdrawn at the vehicle', async () => {
    const car = await system.addVehicle('KEY-REV', { scope: 'all' });
    const client = await system.vehicle(car);
    const credential = await credentialFor(client, 'IT-P2');
    const withdrawn = new Promise<void>((resolve) => {
      client.on('credential', (c) => {
        if (c.pid === 'IT-P2' && c.reason === 'withdrawn') resolve();
      });
    });
    await system.registry.revokeTicket(credential.tid);
    await withdrawn;
    expect(client.credentials.has('IT-P2')).toBe(false);
    await system.gatewayLogged(/"pile":"IT-P2"[^\n]*"revoked":1[^\n]*applied pile.control/);
    // The vehicle (or a copy of its old ticket) tries anyway: the pile refuses it.
    client.credentials.set('IT-P2', credential);
    const outcome = await client.authenticate('IT-P2', 1);
    expect(outcome.ok ? 'ok' : outcome.code).toBe('REVOKED');
  });

  it('rotation: old-offset tickets work during the grace, then UNKNOWN_KEY_OFFSET', async () => {
    const car = await system.addVehicle('KEY-ROT', { scope: 'all' });
    const client = await system.vehicle(car);
    const old: VehicleCredential = await credentialFor(client, 'IT-P1');
    expect(old.parsed.body.off).toBe(0);
    await system.registry.rotate('IT-P1');
    await until(() => client.usableCredential('IT-P1')?.parsed.body.off === 1, 'a credential under offset 1');
    await system.gatewayLogged(/"pile":"IT-P1"[^\n]*"accept":\[1,0\][^\n]*applied pile.control/);
    const fresh = await client.authenticate('IT-P1', 1);
    expect(fresh.ok).toBe(true);
    if (fresh.ok) await fresh.session.stop();
    // During the grace the old ticket still works.
    const renewed = client.usableCredential('IT-P1')!;
    client.credentials.set('IT-P1', old);
    const grace = await client.authenticate('IT-P1', 1);
    expect(grace.ok).toBe(true);
    if (grace.ok) await grace.session.stop();
    // Once every ticket under offset 0 has expired (in the cloud's time), the cloud stops accepting it.
    shiftMs = 8 * DAY_MS;
    await system.gatewayLogged(/"pile":"IT-P1"[^\n]*"accept":\[1\][^\n]*applied pile.control/);
    client.credentials.set('IT-P1', old);
    const after = await client.authenticate('IT-P1', 1);
    expect(after.ok ? 'ok' : after.code).toBe('UNKNOWN_KEY_OFFSET');
    expect(renewed.parsed.body.off).toBe(1);
  });
});
