/**
 * The piles of one gateway on their own: real PileRuntimes on a real SQLite store with simulated chargers, fed
 * MQTT messages by topic as the connection hands them on; what they publish is collected instead of sent.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type PileStatus, secureRandom, topics, unixSeconds, type VehicleEvent } from '../shared/index.js';
import { loadGatewayConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { pileSubscriptions, ServedPiles } from './served-piles.js';
import { SessionStore } from './store.js';
import {
  controlFor,
  makePile,
  removeTempDirs,
  tempDir,
  vehicleHandshakeAt,
  writeGatewayFolder,
} from './testkit.js';

afterAll(removeTempDirs);

const piles = [makePile('SP-1', 2), makePile('SP-2', 1)];

function setUp() {
  const dir = tempDir('served');
  const loaded = loadGatewayConfig(
    writeGatewayFolder(dir, { gid: 'gw-s', mqttUrl: 'mqtt://127.0.0.1:1', password: 'x', piles }),
  );
  const store = new SessionStore(loaded.dataDir);
  const metrics = createMetrics('gw-s');
  const published: { topic: string; payload: string; retain: boolean }[] = [];
  const served = new ServedPiles({
    loaded,
    stations: new Map(),
    store,
    publish: (topic, payload, options) =>
      published.push({ topic, payload, retain: options?.retain ?? false }),
    now: Date.now,
    random: secureRandom,
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const to = (topic: string) =>
    published
      .splice(0)
      .filter((m) => m.topic === topic)
      .map((m) => m.payload);
  const dropped = async () =>
    await metrics.registry.getSingleMetricAsString('evauth_gateway_messages_dropped_total');
  return { store, metrics, served, published, to, dropped };
}

const kinds = (events: VehicleEvent[]) => events.map((e) => e.kind);

describe('ServedPiles', () => {
  it('subscribes to each pile’s auth and control topic', () => {
    expect(pileSubscriptions(['SP-1', 'SP-2'])).toEqual([
      topics.pileAuth('SP-1'),
      topics.pileControl('SP-1'),
      topics.pileAuth('SP-2'),
      topics.pileControl('SP-2'),
    ]);
  });

  it('routes a handshake to its pile; the session opens and shows in the statuses', () => {
    const t = setUp();
    const vehicle = vehicleHandshakeAt(piles[0]!, 'car-r');
    t.served.route(topics.pileAuth('SP-1'), Buffer.from(vehicle.start().payload), false);
    const [challenge] = t.to(topics.vehicleAuth('car-r'));
    expect(kinds(vehicle.receive(challenge!))).toEqual(['pile-verified', 'offer']);
    t.served.route(topics.pileAuth('SP-1'), Buffer.from(vehicle.confirmOffer().payload), false);
    const sent = t.published.splice(0);
    const result = sent.find((m) => m.topic === topics.vehicleAuth('car-r'));
    expect(kinds(vehicle.receive(result!.payload))).toEqual(['authorized']);
    expect(t.served.activeSessionCount).toBe(1);
    expect(t.served.runtimes.get('SP-1')!.status().connectors[0]?.state).toBe('charging');
    // The same request at the other pile is that pile's to refuse.
    const other = vehicleHandshakeAt(piles[0]!, 'car-o');
    t.served.route(topics.pileAuth('SP-2'), Buffer.from(other.start().payload), false);
    expect(JSON.parse(t.to(topics.vehicleAuth('car-o'))[0]!).code).toBe('WRONG_PILE');

    // Offline: every pile's retained status says so; at shutdown the session ends with a receipt.
    t.served.setOnline(false, true);
    const statuses = t.published
      .splice(0)
      .filter((m) => m.retain)
      .map((m) => JSON.parse(m.payload) as PileStatus);
    expect(statuses.map((s) => [s.pid, s.connectors.map((c) => c.state)])).toEqual([
      ['SP-1', ['offline', 'offline']],
      ['SP-2', ['offline']],
    ]);
    t.served.endAll('gateway-shutdown');
    const end = JSON.parse(t.to(topics.vehicleSession('car-r')).at(-1)!);
    expect(end.type).toBe('session.end');
    expect(JSON.parse(end.body).reason).toBe('gateway-shutdown');
    expect(t.served.activeSessionCount).toBe(0);
    t.store.closeDatabase();
  });

  it('routes a signed control to its pile only', () => {
    const t = setUp();
    const control = controlFor(piles[1]!, {
      seq: 1,
      issuedAt: unixSeconds(Date.now()),
      keyOffset: { current: 0, accept: [0] },
      revoked: [],
    });
    t.served.route(topics.pileControl('SP-2'), Buffer.from(control), false);
    expect(t.served.runtimes.get('SP-2')!.controlSnapshot.seq).toBe(1);
    expect(t.served.runtimes.get('SP-1')!.controlSnapshot.seq).toBeLessThan(1);
    t.store.closeDatabase();
  });

  it('drops what is not for a served pile, retained auth messages, and survives a failing handler', async () => {
    const t = setUp();
    const request = Buffer.from(vehicleHandshakeAt(piles[0]!, 'car-d').start().payload);
    t.served.route(topics.pileAuth('NOT-SERVED'), request, false);
    t.served.route(topics.vehicleAuth('car-d'), request, false);
    t.served.route('elsewhere/entirely', request, false);
    t.served.route(topics.pileAuth('SP-1'), request, true);
    expect(t.published).toEqual([]);
    let text = await t.dropped();
    expect(text).toMatch(/reason="unknown-topic",gid="gw-s"\} 3/);
    expect(text).toMatch(/reason="retained",gid="gw-s"\} 1/);
    // A handler that throws (the database is gone under a control to store) is counted, not thrown.
    t.store.closeDatabase();
    const control = controlFor(piles[0]!, {
      seq: 2,
      issuedAt: unixSeconds(Date.now()),
      keyOffset: { current: 0, accept: [0] },
      revoked: [],
    });
    expect(() => t.served.route(topics.pileControl('SP-1'), Buffer.from(control), false)).not.toThrow();
    text = await t.dropped();
    expect(text).toMatch(/reason="internal",gid="gw-s"\} 1/);
  });
});
