import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/gateway.js';
import { SessionStore } from '../../pile-gateway/store.js';
import {
  controlFor,
  makePile,
  makeVehicle,
  operatorToken,
  removeTempDirs,
  sealedCredentialFor,
  type TestPile,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { type PileStatus, topics, type VehicleProvisioning, verifyReceipt } from '../../shared/index.js';
import { testClientId } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
const silent = pino({ level: 'silent' });

let broker: RunningBroker;
let url: string;
let cloud: mqtt.MqttClient;
const piles: TestPile[] = [makePile('GW-P1'), makePile('GW-P2')];

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: piles.map((p) => p.pid) });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  cloud = await mqtt.connectAsync(url, {
    clientId: testClientId('cloud'),
    username: 'cloud',
    password: PASSWORD,
  });
});

afterAll(async () => {
  await cloud?.endAsync();
  await broker?.close();
  removeTempDirs();
});

async function startTestGateway(
  dir = tempDir('gw'),
): Promise<{ gw: RunningGateway; dir: string; token: string }> {
  const configPath = writeGatewayFolder(dir, { gid: 'gw-t', mqttUrl: url, password: PASSWORD, piles });
  const gw = await startGateway(configPath, { logger: silent });
  await gw.ready;
  return { gw, dir, token: operatorToken(configPath) };
}

/** The cloud's part: publish a sealed credential for this pile and wait until the vehicle holds it. */
async function deliverCredential(
  client: VehicleClient,
  provisioning: VehicleProvisioning,
  pile: TestPile,
  options: Parameters<typeof sealedCredentialFor>[2] = {},
): Promise<ReturnType<typeof sealedCredentialFor>> {
  const sealed = sealedCredentialFor(provisioning, pile, options);
  const got = client.once('credential');
  await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
  await got;
  return sealed;
}

async function startVehicle(vid: string) {
  const provisioning = makeVehicle(vid, url, PASSWORD);
  const client = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
  await client.start();
  return { client, provisioning };
}

/** Another process holds the session database's write lock (say, a careless backup); returns its release. */
function holdSessionDbLock(dir: string): () => void {
  const lock = new Database(path.join(dir, 'data', 'sessions.db'));
  lock.exec('BEGIN EXCLUSIVE');
  return () => {
    lock.exec('ROLLBACK');
    lock.close();
  };
}

describe('gateway over the real broker', () => {
  it('authenticates, meters, stops with a verified receipt and a durable record', async () => {
    const { gw, dir } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-1');
    try {
      await deliverCredential(client, provisioning, piles[0]!);
      const steps: string[] = [];
      const outcome = await client.authenticate('GW-P1', 1, { onStep: (s) => steps.push(s.step) });
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(steps).toEqual([
        'credential',
        'request-sent',
        'pile-verified',
        'offer',
        'response-sent',
        'authorized',
      ]);
      const session = outcome.session;
      while (session.meters.length < 3) await session.once('meter');
      const receipt = await session.stop();
      expect(receipt.receipt.reason).toBe('stopped');
      expect(receipt.receipt.wh).toBeGreaterThanOrEqual(session.lastMeter!.reading.wh);
      expect(session.rejected).toEqual([]);
      // the status shows the connector free again
      await new Promise((r) => setTimeout(r, 100));
      expect(client.pileStatus.get('GW-P1')?.connectors[0]?.state).toBe('available');
      const metrics = await gw.metrics.registry.metrics();
      expect(metrics).toMatch(
        /evauth_gateway_handshakes_total\{outcome="authorized",code="OK",gid="gw-t"\} 1/,
      );
      await gw.close();
      const store = new SessionStore(path.join(dir, 'data'));
      const record = store.get(session.sid)!;
      store.closeDatabase();
      expect(record.state).toBe('closed');
      expect(record.reason).toBe('stopped');
      expect(record.stopSeq).toBe(1); // the stop that ended it is on record with its receipt
      const end = JSON.parse(record.receipt!);
      const sidBytes = Buffer.from(session.sid, 'base64url');
      expect(verifyReceipt(record.sk, sidBytes, end.body, end.mac)).toBe(true);
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('answers malformed requests that name a vehicle and drops the rest', async () => {
    const { gw } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-2');
    const raw = await mqtt.connectAsync(url, {
      clientId: testClientId('vehicle:car-2'),
      username: 'vehicle:car-2',
      password: PASSWORD,
    });
    try {
      const answers: string[] = [];
      await raw.subscribeAsync(topics.vehicleAuth('car-2'), { qos: 1 });
      raw.on('message', (_t, p) => answers.push(p.toString()));
      // wrong types, but names the vehicle: MALFORMED
      raw.publish(
        topics.pileAuth('GW-P1'),
        JSON.stringify({ v: 1, type: 'auth.request', vid: 'car-2', sid: 5 }),
        {
          qos: 1,
        },
      );
      raw.publish(topics.pileAuth('GW-P1'), 'not json', { qos: 1 });
      await new Promise((r) => setTimeout(r, 200));
      expect(answers.map((a) => JSON.parse(a).code)).toEqual(['MALFORMED']);
      const dropped = await gw.metrics.registry.getSingleMetricAsString(
        'evauth_gateway_messages_dropped_total',
      );
      expect(dropped).toMatch(/reason="malformed"/);
      // the pile still serves
      await deliverCredential(client, provisioning, piles[1]!);
      const outcome = await client.authenticate('GW-P2', 2);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) await outcome.session.stop();
    } finally {
      await raw.endAsync();
      await client.close();
      await gw.close();
    }
  });

  it('closes a session left open by a crash with a signed gateway-restart receipt', async () => {
    const dir = tempDir('gw');
    const { gw, dir: d } = await startTestGateway(dir);
    const { client, provisioning } = await startVehicle('car-3');
    try {
      await deliverCredential(client, provisioning, piles[0]!);
      const outcome = await client.authenticate('GW-P1', 2);
      if (!outcome.ok) throw new Error(outcome.message);
      while (outcome.session.meters.length < 2) await outcome.session.once('meter');
      // Simulate the crash: reopen the record as if the process died before it could close it.
      await gw.close();
      const store = new SessionStore(path.join(d, 'data'));
      const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
      db.prepare("UPDATE sessions SET state = 'open', receipt = NULL WHERE sid = ?").run(outcome.session.sid);
      store.closeDatabase();
      // A plain vehicle connection listens for the receipt of the restarted gateway.
      const raw = await mqtt.connectAsync(url, {
        clientId: testClientId('vehicle:car-3'),
        username: 'vehicle:car-3',
        password: PASSWORD,
      });
      await raw.subscribeAsync(topics.vehicleSession('car-3'), { qos: 1 });
      const ended = new Promise<string>((resolve) => {
        raw.on('message', (_t, p) => {
          const m = JSON.parse(p.toString());
          if (m.type === 'session.end' && JSON.parse(m.body).reason === 'gateway-restart')
            resolve(p.toString());
        });
      });
      const again = await startGateway(path.join(d, 'config.json'), { logger: silent });
      let endText: string;
      try {
        endText = await ended;
      } finally {
        await raw.endAsync();
        await again.close();
      }
      const end = JSON.parse(endText);
      const sidBytes = Buffer.from(outcome.session.sid, 'base64url');
      expect(verifyReceipt(outcome.session['verifier'].keys.sk, sidBytes, end.body, end.mac)).toBe(true);
      expect(JSON.parse(end.body).wh).toBeGreaterThanOrEqual(0);
    } finally {
      await client.close();
    }
  });

  it('ends the session on unplug and shows a fault in the retained status', async () => {
    const { gw, token } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-4');
    const operate = (verb: string) =>
      fetch(`http://127.0.0.1:${gw.httpPort}/piles/GW-P2/connectors/1/${verb}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      await deliverCredential(client, provisioning, piles[1]!);
      const outcome = await client.authenticate('GW-P2', 1);
      if (!outcome.ok) throw new Error(outcome.message);
      expect((await operate('unplug')).status).toBe(200);
      const receipt = await outcome.session.ended;
      expect(receipt.receipt.reason).toBe('unplugged');
      const faulted = new Promise<PileStatus>((resolve) => {
        const off = client.on('pile-status', ({ status }) => {
          if (status?.pid === 'GW-P2' && status.connectors[0]?.state === 'faulted') {
            off();
            resolve(status);
          }
        });
      });
      expect((await operate('fault')).status).toBe(200);
      await faulted;
      const busy = await client.authenticate('GW-P2', 1);
      expect(busy.ok ? 'ok' : busy.code).toBe('CONNECTOR_BUSY');
      expect((await operate('clear')).status).toBe(200);
      const health = await (await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`)).json();
      expect(health.ok).toBe(true);
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('answers a MACed INTERNAL and keeps the connector free when it cannot record the session', async () => {
    const { gw, dir } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-8');
    try {
      await deliverCredential(client, provisioning, piles[0]!);
      const release = holdSessionDbLock(dir);
      let outcome: Awaited<ReturnType<typeof client.authenticate>>;
      try {
        outcome = await client.authenticate('GW-P1', 1);
      } finally {
        release();
      }
      expect(outcome.ok ? 'ok' : outcome.code).toBe('INTERNAL');
      expect(outcome.ok ? false : outcome.authenticated).toBe(true);
      const next = await client.authenticate('GW-P1', 1);
      expect(next.ok).toBe(true);
      if (next.ok) await next.session.stop();
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('sends no receipt it could not record; the vehicle’s repeated stop closes the session later', async () => {
    const { gw, dir } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-9');
    try {
      await deliverCredential(client, provisioning, piles[1]!);
      const outcome = await client.authenticate('GW-P2', 1);
      if (!outcome.ok) throw new Error(outcome.message);
      await outcome.session.once('meter');
      const release = holdSessionDbLock(dir);
      const stopping = outcome.session.stop({ retryMs: 1500 });
      await new Promise((r) => setTimeout(r, 1200));
      expect(outcome.session.receipt).toBeUndefined();
      release();
      const receipt = await stopping;
      expect(receipt.receipt.reason).toBe('stopped');
      const store = new SessionStore(path.join(dir, 'data'));
      const record = store.get(outcome.session.sid);
      store.closeDatabase();
      expect(record?.receipt).toBe(JSON.stringify(receipt.message));
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('ends the session at the ticket energy cap', async () => {
    const { gw } = await startTestGateway();
    const { client, provisioning } = await startVehicle('car-6');
    try {
      await deliverCredential(client, provisioning, piles[1]!, { maxWh: 20 });
      const outcome = await client.authenticate('GW-P2', 2);
      if (!outcome.ok) throw new Error(outcome.message);
      const receipt = await outcome.session.ended;
      expect(receipt.receipt.reason).toBe('energy-cap');
      expect(receipt.receipt.wh).toBe(20);
      expect(outcome.session.meters.every((m) => m.reading.wh <= 20)).toBe(true);
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it('applies and persists a signed control: revocation (by vehicle, in a 100 KiB body) survives a restart', async () => {
    const dir = tempDir('gw');
    const { gw } = await startTestGateway(dir);
    const { client, provisioning } = await startVehicle('car-5');
    try {
      await deliverCredential(client, provisioning, piles[0]!);
      const nowS = Math.floor(Date.now() / 1000);
      // past the 64 KiB every other client may send: the cloud's pile.control may be 256 KiB (PROTOCOL §7)
      const others = Array.from({ length: 2500 }, (_, i) => ({ vid: `other-${i}`, until: nowS + 3600 }));
      const control = controlFor(piles[0]!, {
        seq: 1,
        issuedAt: nowS,
        keyOffset: { current: 0, accept: [0] },
        revoked: [],
        revokedVehicles: [...others, { vid: 'car-5', until: nowS + 3600 }],
      });
      expect(control.length).toBeGreaterThan(96 * 1024);
      await cloud.publishAsync(topics.pileControl('GW-P1'), control, { qos: 1, retain: true });
      await new Promise((r) => setTimeout(r, 200));
      const revoked = await client.authenticate('GW-P1', 1);
      expect(revoked.ok ? 'ok' : revoked.code).toBe('REVOKED');
      await gw.close();
      // remove the retained control: the restarted gateway must remember it from its own store
      await cloud.publishAsync(topics.pileControl('GW-P1'), '', { qos: 1, retain: true });
      const again = await startGateway(path.join(dir, 'config.json'), { logger: silent });
      await again.ready;
      try {
        const still = await client.authenticate('GW-P1', 1);
        expect(still.ok ? 'ok' : still.code).toBe('REVOKED');
      } finally {
        await again.close();
      }
    } finally {
      await client.close();
      await gw.close();
    }
  });
});
