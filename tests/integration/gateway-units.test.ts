/**
 * The gateway's units against a real broker, each on its own: the connection (batched subscriptions, messages
 * with their retained flag, refused topics reported), the presence it announces, and the shutdown order.
 */
import { Writable } from 'node:stream';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { loadGatewayConfig } from '../../pile-gateway/config.js';
import { connectGateway, type GatewayConnection } from '../../pile-gateway/gateway-connection.js';
import { announcePresence } from '../../pile-gateway/gateway-status.js';
import { createMetrics } from '../../pile-gateway/metrics.js';
import { pileSubscriptions, ServedPiles } from '../../pile-gateway/served-piles.js';
import { shutdownGateway } from '../../pile-gateway/shutdown.js';
import { SessionStore } from '../../pile-gateway/store.js';
import {
  makePile,
  removeTempDirs,
  tempDir,
  vehicleHandshakeAt,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { secureRandom, topics } from '../../shared/index.js';
import { collect, connectClient, waitFor } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
// 700 piles: 1,400 topics, three SUBSCRIBE batches.
const pids = Array.from({ length: 700 }, (_, i) => `U-${String(i).padStart(3, '0')}`);
const silent = pino({ level: 'silent' });

let broker: RunningBroker;
let url: string;
/** a vehicle's login: sees every status and its own vehicle topics, may publish on pile auth topics */
let observer: MqttClient;
let cloud: MqttClient;
let seen: ReturnType<typeof collect>;
const VID = 'car-obs';

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: pids });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  cloud = await connectClient(url, 'cloud', PASSWORD);
  observer = await connectClient(url, `vehicle:${VID}`, PASSWORD);
  await observer.subscribeAsync([topics.allPileStatus(), topics.allGatewayStatus(), topics.vehicleAll(VID)]);
  seen = collect(observer);
});

afterAll(async () => {
  await observer?.endAsync();
  await cloud?.endAsync();
  await broker?.close();
  removeTempDirs();
});

/** A pino logger whose lines the test can read. */
function recordingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('the gateway connection', () => {
  it('subscribes in batches, hands messages on with their retained flag, and reports refused topics', async () => {
    const { logger, lines } = recordingLogger();
    const messages: { topic: string; payload: string; retained: boolean }[] = [];
    let subscribed = 0;
    const last = pids[pids.length - 1]!;
    // Retained before the gateway connects: it arrives flagged retained on the new subscription.
    await cloud.publishAsync(topics.pileControl(last), 'kept', { qos: 1, retain: true });
    const connection = connectGateway({
      gid: 'gw-u',
      mqtt: { url, username: 'gateway:gw-u', password: PASSWORD },
      subscriptions: [...pileSubscriptions(pids), topics.pileAuth('NOT-MINE')],
      onMessage: (topic, payload, retained) => messages.push({ topic, payload: String(payload), retained }),
      onSubscribed: () => subscribed++,
      logger,
    });
    try {
      await waitFor(() => subscribed === 1, 10_000, 'subscriptions');
      expect(connection.connected).toBe(true);
      const refused = lines.find((l) => l.msg === 'broker refused subscriptions');
      expect(refused).toMatchObject({ count: 1, refused: [topics.pileAuth('NOT-MINE')] });

      await observer.publishAsync(topics.pileAuth(pids[0]!), 'auth', { qos: 1 });
      await observer.publishAsync(topics.pileAuth('NOT-MINE'), 'not for it', { qos: 1 });
      await waitFor(() => messages.length >= 2, 5000, 'messages');
      expect(messages).toEqual([
        { topic: topics.pileControl(last), payload: 'kept', retained: true },
        { topic: topics.pileAuth(pids[0]!), payload: 'auth', retained: false },
      ]);
    } finally {
      await connection.close();
      await cloud.publishAsync(topics.pileControl(last), '', { qos: 1, retain: true });
    }
    expect(connection.connected).toBe(false);
  });

  it('flushes what it published when it closes', async () => {
    let ready = false;
    const connection = connectGateway({
      gid: 'gw-f',
      mqtt: { url, username: 'gateway:gw-f', password: PASSWORD },
      subscriptions: [],
      onMessage: () => {},
      onSubscribed: () => {
        ready = true;
      },
      logger: silent,
    });
    await waitFor(() => ready, 5000, 'connection');
    const marker = `flush-${Date.now()}`;
    for (let i = 0; i < 50; i++) connection.publish(topics.vehicleSession(VID), `${marker}-${i}`);
    await connection.close();
    await waitFor(() => seen.filter((m) => m.payload.startsWith(marker)).length === 50, 3000, 'all 50');
  });
});

/** A retained status as `P1 available` (its first connector) or `gw-1 online`. */
function describeStatus(m: { payload: string }): string {
  const status = JSON.parse(m.payload);
  if ('gid' in status && 'online' in status) return `${status.gid} ${status.online ? 'online' : 'offline'}`;
  return `${status.pid} ${status.connectors[0].state}`;
}

/** The units of a gateway serving two of the piles: store, piles and the connection. */
async function gatewayUnits(gid: string) {
  const testPiles = [makePile(pids[0]!, 1), makePile(pids[1]!, 1)];
  const loaded = loadGatewayConfig(
    writeGatewayFolder(tempDir('units'), { gid, mqttUrl: url, password: PASSWORD, piles: testPiles }),
  );
  const store = new SessionStore(loaded.dataDir);
  const metrics = createMetrics(gid);
  let subscribed = false;
  const connection: GatewayConnection = connectGateway({
    gid,
    mqtt: loaded.config.mqtt,
    subscriptions: [],
    onMessage: () => {},
    onSubscribed: () => {
      subscribed = true;
    },
    logger: silent,
  });
  const piles = new ServedPiles({
    loaded,
    stations: new Map(),
    store,
    publish: connection.publish,
    now: Date.now,
    random: secureRandom,
    metrics,
    logger: silent,
  });
  await waitFor(() => subscribed, 5000, 'connection');
  return { gid, piles, connection, store, logger: silent, testPiles };
}

describe('presence and shutdown', () => {
  it('announces the piles first, then the gateway', async () => {
    const units = await gatewayUnits('gw-p');
    try {
      const from = seen.length;
      announcePresence(units, true);
      const statuses = () => seen.slice(from).filter((m) => m.topic.endsWith('/status'));
      await waitFor(() => statuses().length === 3, 3000, 'three statuses');
      expect(statuses().map(describeStatus)).toEqual([
        `${pids[0]} available`,
        `${pids[1]} available`,
        'gw-p online',
      ]);
    } finally {
      await units.connection.close();
      units.store.closeDatabase();
    }
  });

  it('shuts down in order: receipts, offline piles, offline gateway, then the connection and the store', async () => {
    const units = await gatewayUnits('gw-s');
    // A session charging at the first pile.
    const vehicle = vehicleHandshakeAt(units.testPiles[0]!, VID);
    units.piles.route(topics.pileAuth(pids[0]!), Buffer.from(vehicle.start().payload), false);
    const challenge = await waitFor(
      () => seen.find((m) => m.topic === topics.vehicleAuth(VID) && m.payload.includes('challenge')),
      3000,
      'challenge',
    );
    vehicle.receive(challenge.payload);
    units.piles.route(topics.pileAuth(pids[0]!), Buffer.from(vehicle.confirmOffer().payload), false);
    expect(units.piles.activeSessionCount).toBe(1);
    await waitFor(
      () => seen.some((m) => m.topic.endsWith('/status') && describeStatus(m) === `${pids[0]} charging`),
      3000,
      'charging',
    );

    const from = seen.length;
    await shutdownGateway(units);
    const order = seen
      .slice(from)
      .map((m) => (m.topic.endsWith('/status') ? describeStatus(m) : JSON.parse(m.payload).type))
      .filter((what) => what !== 'session.meter');
    // The session's end frees its connector; then every pile goes offline, then the gateway.
    expect(order).toEqual([
      'session.end',
      `${pids[0]} available`,
      `${pids[0]} offline`,
      `${pids[1]} offline`,
      'gw-s offline',
    ]);
    expect(units.connection.connected).toBe(false);
    expect(() => units.store.get('anything')).toThrow(/not open/);
  });
});
