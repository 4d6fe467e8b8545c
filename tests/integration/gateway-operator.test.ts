/**
 * The gateway's operator page and its JSON API (GET /operator/api/view) on a real gateway, broker and vehicle:
 * only the bearer token reads it (no Origin, its own Host); it shows the piles' connectors, an open session's
 * energy from the gateway's signed readings, refusals by code and the last receipts; the page's files are served
 * to the gateway's own Host from its built folder, and nothing outside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/gateway.js';
import type { OperatorView } from '../../pile-gateway/operator/view.js';
import {
  makePile,
  makeVehicle,
  operatorToken,
  removeTempDirs,
  sealedCredentialFor,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { topics } from '../../shared/index.js';
import { rawRequest } from '../support/http.js';
import { testClientId } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
const piles = [makePile('OP-P1'), makePile('OP-P2', 1, 22_000)];

let broker: RunningBroker;
let url: string;
let cloud: mqtt.MqttClient;
let gw: RunningGateway;
let token: string;
let pageDir: string;

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: piles.map((p) => p.pid) });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  cloud = await mqtt.connectAsync(url, {
    clientId: testClientId('cloud'),
    username: 'cloud',
    password: PASSWORD,
  });
  const dir = tempDir('gw-op');
  const configPath = writeGatewayFolder(dir, {
    gid: 'gw-op',
    mqttUrl: url,
    password: PASSWORD,
    piles,
    meterIntervalMs: 100,
    rampMs: 0,
  });
  token = operatorToken(configPath);
  // A built page of its own: what the gateway serves, whatever is in pile-gateway/operator/dist.
  pageDir = path.join(dir, 'page');
  fs.mkdirSync(path.join(pageDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(pageDir, 'index.html'), '<!doctype html><title>operator</title>');
  fs.writeFileSync(path.join(pageDir, 'assets', 'app.js'), 'console.log(1)');
  gw = await startGateway(configPath, { logger: pino({ level: 'silent' }), operatorPageDir: pageDir });
  await gw.ready;
});

afterAll(async () => {
  await gw?.close();
  await cloud?.endAsync();
  await broker?.close();
  removeTempDirs();
});

const own = () => `127.0.0.1:${gw.httpPort}`;
const get = (p: string, headers: Record<string, string> = {}) =>
  rawRequest(gw.httpPort, 'GET', p, { host: own(), ...headers });
const bearer = () => ({ authorization: `Bearer ${token}` });

async function view(): Promise<OperatorView> {
  const answer = await get('/operator/api/view', bearer());
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toMatch(/application\/json/);
  return JSON.parse(answer.body) as OperatorView;
}

/** Views until one satisfies `ok` (the view is made at most once a second). */
async function viewUntil(ok: (v: OperatorView) => boolean, timeoutMs = 8000): Promise<OperatorView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await view();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`view never matched: ${JSON.stringify(v).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('operator API: who may read it', () => {
  it('answers 401 without the token or with a wrong one, asking for a bearer token', async () => {
    const tries: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${'w'.repeat(40)}` },
      { authorization: token },
    ];
    for (const headers of tries) {
      const answer = await get('/operator/api/view', headers);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(JSON.parse(answer.body).error).toMatch(/bearer token/);
      expect(answer.body).not.toContain('OP-P1');
    }
  });

  it('answers 403 to another site’s page or a rebound host name, even with the token', async () => {
    const cross = await get('/operator/api/view', { ...bearer(), origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    const rebound = await rawRequest(gw.httpPort, 'GET', '/operator/api/view', {
      host: `evil.example:${gw.httpPort}`,
      ...bearer(),
    });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('OP-P1');
  });
});

describe('operator API: what it shows', () => {
  it('lists every pile and connector with its state and power, nothing open, nothing refused', async () => {
    const v = await view();
    expect(v).toMatchObject({ v: 1, gid: 'gw-op', mqtt: 'connected', pilesTotal: 2, sessionsTotal: 0 });
    expect(v.piles.map((p) => p.pid)).toEqual(['OP-P1', 'OP-P2']);
    expect(v.piles[0]!.connectors).toEqual([
      expect.objectContaining({ id: 1, state: 'available', maxW: 150_000 }),
      expect.objectContaining({ id: 2, state: 'available', maxW: 150_000 }),
    ]);
    expect(v.piles[1]!.connectors).toEqual([expect.objectContaining({ id: 1, maxW: 22_000 })]);
    expect(v.sessions).toEqual([]);
    expect(v.refused).toEqual({});
    // Made at most once a second however often it is asked.
    expect((await view()).at).toBe(v.at);
  });

  it('follows a session: its energy rises with the signed readings, then its receipt comes first', async () => {
    const provisioning = makeVehicle('OP-CAR', url, PASSWORD);
    const client = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
    await client.start();
    try {
      const sealed = sealedCredentialFor(provisioning, piles[0]!);
      const got = client.once('credential');
      await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
      await got;
      const outcome = await client.authenticate('OP-P1', 2);
      if (!outcome.ok) throw new Error(outcome.message);
      const { session } = outcome;
      const first = await viewUntil((v) => v.sessions.some((s) => s.sid === session.sid && s.wh > 0));
      const open = first.sessions.find((s) => s.sid === session.sid)!;
      expect(open).toMatchObject({ pid: 'OP-P1', connector: 2, vid: 'OP-CAR', currency: 'EUR' });
      expect(first.piles[0]!.connectors[1]).toMatchObject({ id: 2, state: 'charging' });
      const later = await viewUntil(
        (v) => (v.sessions.find((s) => s.sid === session.sid)?.wh ?? 0) > open.wh,
      );
      const rising = later.sessions.find((s) => s.sid === session.sid)!;
      expect(rising.lastMeterAt).toBeGreaterThan(open.lastMeterAt);
      // What the gateway shows is a reading it signed: the vehicle gets and verifies that very reading.
      const deadline = Date.now() + 3000;
      while (!session.meters.some((m) => m.reading.wh === rising.wh) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(session.meters.map((m) => m.reading.wh)).toContain(rising.wh);
      const receipt = await session.stop();
      const ended = await viewUntil((v) => v.receipts[0]?.sid === session.sid);
      expect(ended.sessions.some((s) => s.sid === session.sid)).toBe(false);
      expect(ended.receipts[0]).toMatchObject({ pid: 'OP-P1', connector: 2, reason: 'stopped' });
      expect(ended.receipts[0]!.wh).toBe(receipt.receipt.wh);
    } finally {
      await client.close();
    }
  });

  it('counts refused requests by code, per pile and in all', async () => {
    const provisioning = makeVehicle('OP-FORGER', url, PASSWORD);
    const forger = await mqtt.connectAsync(url, {
      clientId: testClientId(provisioning.mqtt.username),
      username: provisioning.mqtt.username,
      password: PASSWORD,
    });
    try {
      for (let i = 0; i < 3; i++)
        await forger.publishAsync(topics.pileAuth('OP-P2'), JSON.stringify({ v: 1, type: 'auth.request' }), {
          qos: 1,
        });
      const v = await viewUntil((x) => (x.refused.MALFORMED ?? 0) >= 3);
      expect(v.piles[1]!.refused).toEqual({ MALFORMED: 3 });
      expect(v.piles[0]!.refused).toEqual({});
    } finally {
      await forger.endAsync();
    }
  });
});

describe('operator page files', () => {
  it('serves the built page to its own Host without the token, with a strict policy', async () => {
    const page = await get('/operator/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>operator</title>');
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect((await get('/operator/assets/app.js')).body).toBe('console.log(1)');
    const redirect = await get('/operator?token=abc');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('/operator/?token=abc');
  });

  it('serves nothing outside its folder, and nothing to a foreign Host', async () => {
    for (const p of [
      '/operator/../config.json',
      '/operator/%2e%2e/keystore.json',
      '/operator/assets/none.js',
    ]) {
      const answer = await get(p);
      expect(answer.status, p).toBe(404);
      expect(answer.body).not.toContain('rootKey');
    }
    const rebound = await rawRequest(gw.httpPort, 'GET', '/operator/', { host: 'evil.example' });
    expect(rebound.status).toBe(403);
  });

  it('says how to build the page when it is not built', async () => {
    fs.rmSync(path.join(pageDir, 'index.html'));
    const answer = await get('/operator/');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).error).toMatch(/npm run build:operator/);
  });
});
