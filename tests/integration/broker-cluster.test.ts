/**
 * Two aedes nodes sharing one Redis (Debian's redis-server on a private port), each reading the registry's login
 * view: the rights suite with every publisher on one node and every observer on the other, retained messages
 * stored through one node and found through the other, a client id taken over across nodes, and a node that
 * loses Redis (refuses, closes, comes back).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, type RunningBroker, startBroker } from '../../broker/index.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { topics } from '../../shared/index.js';
import {
  collect,
  connectClient,
  connectWithRetry,
  type RightsWorld,
  testClientId,
  waitFor,
} from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';
import { TestRedis } from '../support/redis.js';
import { rightsSuite } from '../support/rights-suite.js';

interface Node {
  broker: RunningBroker;
  logs: { msg?: string; level: number }[];
  url: string;
}

describe('a two-node aedes cluster sharing Redis', () => {
  let redis: TestRedis;
  let dir: string;
  let registry: Registry;
  const nodes: Node[] = [];
  let world: RightsWorld;
  const open: MqttClient[] = [];
  const client = async (node: Node, username: string, password: string, clientId?: string) => {
    const c = await connectClient(node.url, username, password, clientId ? { clientId } : {});
    open.push(c);
    return c;
  };

  const startNode = async (): Promise<Node> => {
    const logs: Node['logs'] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const broker = await startBroker({
      mqttPort: 0,
      logins: new LoginView(join(dir, 'cloud.db')),
      cluster: { redisUrl: redis.url, heartbeatMs: 500 },
      logger,
    });
    return { broker, logs, url: `mqtt://127.0.0.1:${broker.mqttPort}` };
  };

  beforeAll(async () => {
    redis = await TestRedis.start();
    dir = mkdtempSync(join(tmpdir(), 'evauth-broker-cluster-'));
    registry = await openRegistry(dir);
    await registry.init();
    const urls = { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' };
    const a = await registry.addVehicle('V1', urls);
    const b = await registry.addVehicle('V2', urls);
    await registry.addGateway('G1');
    await registry.addPile('P1', testPileSpec({ gid: 'G1' }));
    await registry.addPile('P2', testPileSpec());
    await registry.setMqttPassword('gateway:G1', 'gw-password');
    nodes.push(await startNode(), await startNode());
    world = {
      url: nodes[0]!.url,
      observerUrl: nodes[1]!.url,
      vehicle1: { vid: 'V1', password: a.mqtt.password },
      vehicle2: { vid: 'V2', password: b.mqtt.password },
      gateway: { gid: 'G1', password: 'gw-password', pid: 'P1' },
      otherPid: 'P2',
      cloudPassword: await registry.cloudPassword(),
    };
  }, 30_000);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
  });

  afterAll(async () => {
    for (const node of nodes) await node.broker.close();
    await redis?.stop();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  rightsSuite(() => world, { refusesRetained: true });

  it("delivers retained credentials stored through one node to a car on the other: all its own, no one else's", async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const cloud = await client(a, 'cloud', world.cloudPassword);
    // V10 shares V1's first characters: the prefix of V1's filter must stop at the level
    for (const [vid, pid] of [
      ['V1', 'P1'],
      ['V1', 'P2'],
      ['V10', 'P1'],
      ['V2', 'P1'],
    ] as const)
      await cloud.publishAsync(topics.credential(vid, pid), `sealed-${vid}-${pid}`, { qos: 1, retain: true });
    const car = await client(b, 'vehicle:V1', world.vehicle1.password);
    const seen = collect(car);
    await car.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    await waitFor(() => seen.length >= 2 || undefined, 3000, 'two retained credentials');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((m) => m.payload).sort()).toEqual(['sealed-V1-P1', 'sealed-V1-P2']);
    expect(seen.every((m) => m.retain)).toBe(true);

    // withdrawn through the other node: a later subscriber finds only what is left
    await cloud.publishAsync(topics.credential('V1', 'P2'), '', { qos: 1, retain: true });
    const later = await client(b, 'vehicle:V1', world.vehicle1.password);
    const laterSeen = collect(later);
    await later.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    await waitFor(() => laterSeen[0], 3000, 'the remaining credential');
    await new Promise((r) => setTimeout(r, 200));
    expect(laterSeen.map((m) => m.payload)).toEqual(['sealed-V1-P1']);
  });

  it('closes a connection when its client id connects again on the other node', async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const id = testClientId('vehicle:V1');
    const first = await client(a, 'vehicle:V1', world.vehicle1.password, id);
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await client(b, 'vehicle:V1', world.vehicle1.password, id);
    await closed;
    expect(second.connected).toBe(true);
    // the one left is the one that works: a message through node A reaches it on node B
    const seen = collect(second);
    await second.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    const cloud = await client(a, 'cloud', world.cloudPassword);
    await cloud.publishAsync(topics.vehicleCloud('V1'), 'after-takeover', { qos: 1 });
    await waitFor(() => seen.find((m) => m.payload === 'after-takeover'), 3000, 'message after takeover');
  });

  it('without Redis a node refuses new connections and closes its own, and serves again once Redis is back', async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const held = await client(b, 'vehicle:V1', world.vehicle1.password);
    // (a subscription to undo in Redis: the socket must close now all the same, not once Redis is back)
    await held.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    const closed = new Promise<void>((resolve) => held.once('close', () => resolve()));
    const before = nodes.map((node) => node.logs.length);
    const logged = (node: Node, since: number, message: RegExp, what: string) =>
      waitFor(() => node.logs.slice(since).find((l) => message.test(l.msg ?? '')), 10_000, what);
    await redis.kill();
    for (const [i, node] of nodes.entries())
      expect(
        await logged(node, before[i]!, /^redis unreachable/, 'the "redis unreachable" line'),
      ).toMatchObject({
        level: 50,
      });
    await closed;
    await expect(connectClient(a.url, 'vehicle:V1', world.vehicle1.password)).rejects.toMatchObject({
      code: 3, // server unavailable
    });

    await redis.resume();
    for (const [i, node] of nodes.entries())
      await logged(node, before[i]!, /^redis reachable: accepting connections/, 'the "redis reachable" line');
    // routing between the nodes is back: a subscription on B hears a publish on A
    const car = await connectWithRetry(b.url, 'vehicle:V1', world.vehicle1.password);
    open.push(car);
    const seen = collect(car);
    await car.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    const cloud = await connectWithRetry(a.url, 'cloud', world.cloudPassword);
    open.push(cloud);
    await cloud.publishAsync(topics.vehicleCloud('V1'), 'after-redis-restart', { qos: 1 });
    await waitFor(() => seen.find((m) => m.payload === 'after-redis-restart'), 3000, 'message after restart');
  });
});
