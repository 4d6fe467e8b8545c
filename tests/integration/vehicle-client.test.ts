import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/index.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  sealedCredentialFor,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { topics } from '../../shared/index.js';
import { testClientId } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'vehicle-test-password';
const pile = makePile('VC-P1');
let broker: RunningBroker;
let gateway: RunningGateway;
let cloud: mqtt.MqttClient;
let url: string;
const clients: VehicleClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: [pile.pid], gid: 'gw-vc' });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  const configPath = writeGatewayFolder(tempDir('vc'), {
    gid: 'gw-vc',
    mqttUrl: url,
    password: PASSWORD,
    piles: [pile],
  });
  gateway = await startGateway(configPath, { logger: pino({ level: 'silent' }) });
  await gateway.ready;
  cloud = await mqtt.connectAsync(url, {
    clientId: testClientId('cloud'),
    username: 'cloud',
    password: PASSWORD,
  });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await cloud?.endAsync();
  await gateway?.close();
  await broker?.close();
  removeTempDirs();
});

function client(
  provisioning: ReturnType<typeof makeVehicle>,
  store = new MemoryCredentialStore(),
  stepTimeoutMs?: number,
) {
  const c = new VehicleClient({ provisioning, store, ...(stepTimeoutMs ? { stepTimeoutMs } : {}) });
  clients.push(c);
  return c;
}

async function grant(provisioning: ReturnType<typeof makeVehicle>) {
  const sealed = sealedCredentialFor(provisioning, pile);
  await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
  return sealed;
}

describe('VehicleClient', () => {
  it('keeps credentials in its store, reloads them, and drops a withdrawn one', async () => {
    const vehicle = makeVehicle('vc-store', url, PASSWORD);
    const store = new MemoryCredentialStore();
    const first = client(vehicle, store);
    await first.start();
    const received = first.once('credential');
    await grant(vehicle);
    expect((await received).reason).toBe('received');
    expect((await store.list('vc-store')).map((c) => c.pid)).toEqual(['VC-P1']);
    await first.close();

    const second = client(vehicle, store);
    const reasons: string[] = [];
    second.on('credential', (c) => reasons.push(c.reason));
    await second.start();
    expect(reasons[0]).toBe('loaded');
    expect(second.usableCredential('VC-P1')).toBeDefined();
    const withdrawn = new Promise<void>((resolve) => {
      second.on('credential', (c) => {
        if (c.reason === 'withdrawn') resolve();
      });
    });
    await cloud.publishAsync(topics.credential('vc-store', 'VC-P1'), '', { qos: 1, retain: true });
    await withdrawn;
    expect(second.credentials.has('VC-P1')).toBe(false);
    expect(await store.list('vc-store')).toEqual([]);
  });

  it('fills the live pile and gateway status maps', async () => {
    const c = client(makeVehicle('vc-status', url, PASSWORD));
    await c.start();
    const deadline = Date.now() + 3000;
    while ((!c.pileStatus.has('VC-P1') || !c.gatewayStatus.has('gw-vc')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(c.pileStatus.get('VC-P1')?.connectors.map((x) => x.state)).toEqual(['available', 'available']);
    expect(c.gatewayStatus.get('gw-vc')?.online).toBe(true);
    expect(c.connectionState).toBe('connected');
  });

  it('declining the offer aborts with OFFER_DECLINED; a slow confirmation is not timed out', async () => {
    const vehicle = makeVehicle('vc-offer', url, PASSWORD);
    const c = client(vehicle, new MemoryCredentialStore(), 300);
    await c.start();
    const got = c.once('credential');
    await grant(vehicle);
    await got;
    const declined = await c.authenticate('VC-P1', 1, { confirmOffer: () => false });
    expect(declined.ok ? 'ok' : declined.code).toBe('OFFER_DECLINED');
    expect(declined.steps.map((s) => s.step)).toEqual([
      'credential',
      'request-sent',
      'pile-verified',
      'offer',
      'failed',
    ]);
    const slow = await c.authenticate('VC-P1', 1, {
      confirmOffer: async (offer) => {
        expect(offer.connector).toBe(1);
        await new Promise((r) => setTimeout(r, 800));
        return true;
      },
    });
    expect(slow.ok).toBe(true);
    if (slow.ok) await slow.session.stop();
    const metrics = await gateway.metrics.registry.getSingleMetricAsString('evauth_gateway_handshakes_total');
    expect(metrics).toMatch(/outcome="aborted",code="OFFER_DECLINED"/);
  });

  it('keeps forged readings apart: only MAC-verified meters reach the driver', async () => {
    const vehicle = makeVehicle('vc-forge', url, PASSWORD);
    const c = client(vehicle);
    await c.start();
    const got = c.once('credential');
    await grant(vehicle);
    await got;
    const outcome = await c.authenticate('VC-P1', 2);
    if (!outcome.ok) throw new Error(outcome.message);
    const session = outcome.session;
    while (session.meters.length < 2) await session.once('meter');
    // Someone with the right to publish there (here: the gateway's own login) sends a reading with a bad MAC.
    const rogue = await mqtt.connectAsync(url, {
      clientId: testClientId('gateway:gw-vc'),
      username: 'gateway:gw-vc',
      password: PASSWORD,
    });
    const rejected = session.once('meter-rejected');
    const body = JSON.stringify({ ts: Math.floor(Date.now() / 1000), wh: 999_999, w: 1, state: 'charging' });
    await rogue.publishAsync(
      topics.vehicleSession('vc-forge'),
      JSON.stringify({
        v: 1,
        type: 'session.meter',
        sid: session.sid,
        seq: 10_000,
        body,
        mac: 'A'.repeat(43),
      }),
      { qos: 1 },
    );
    await rogue.endAsync();
    expect((await rejected).code).toBe('BAD_MAC');
    const before = session.meters.length;
    while (session.meters.length < before + 2) await session.once('meter');
    expect(session.meters.every((m) => m.reading.wh < 999_999)).toBe(true);
    const receipt = await session.stop();
    expect(receipt.receipt.wh).toBeLessThan(999_999);
    expect(session.rejected).toHaveLength(1);
  });

  it('retries a timed-out handshake with a new sid when asked to', async () => {
    const vehicle = makeVehicle('vc-retry', url, PASSWORD);
    const c = client(vehicle, new MemoryCredentialStore(), 200);
    await c.start();
    const ghost = makePile('VC-GHOST'); // nobody serves this pile
    const sealed = sealedCredentialFor(vehicle, ghost);
    const got = c.once('credential');
    await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
    await got;
    const outcome = await c.authenticate('VC-GHOST', 1, { retries: 1 });
    expect(outcome.ok ? 'ok' : outcome.code).toBe('TIMEOUT');
    const requests = outcome.steps.filter((s) => s.step === 'request-sent');
    expect(requests).toHaveLength(2);
    expect(requests[0]?.sid).not.toBe(requests[1]?.sid);
  });

  it('refuses a wrong broker password with a typed error', async () => {
    const vehicle = makeVehicle('vc-login', url, 'wrong');
    const c = client(vehicle);
    await expect(c.start()).rejects.toMatchObject({ code: 'MQTT_LOGIN_REFUSED' });
    expect(c.connectionState).toBe('closed');
  });

  it('stays browser-safe: no node: imports in the core', () => {
    for (const file of fs.readdirSync(import.meta.dirname)) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      const text = fs.readFileSync(path.join(import.meta.dirname, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"](node:|fs|net|path|crypto)['"/]/);
    }
  });
});
