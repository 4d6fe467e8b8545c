/**
 * Clients along the broker nodes of PROTOCOL §11 revision 2 (`mqtt.urls`, `mqtt.wsUrls`), in order: past a node
 * that is down and a node that refuses the CONNECT (a cluster node without Redis: "server unavailable"), on to
 * the next; and on again when that one goes. The Node client (gateway, cloud) and the vehicle client (head unit,
 * CLI) over TCP and over WebSocket, where each node keeps its own path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, type RunningBroker, startBroker } from '../../broker/index.js';
import { openRegistry } from '../../cloud/registry.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { freePort } from '../../node/child-process.js';
import { closeMqtt, connectMqtt, currentNode } from '../../node/mqtt-client.js';
import type { VehicleProvisioning } from '../../shared/index.js';
import { waitFor } from '../support/mqtt.js';
import { TestRedis } from '../support/redis.js';

describe('failover along the broker nodes', () => {
  let dir: string;
  let redis: TestRedis;
  let refusing: RunningBroker;
  let second: RunningBroker;
  let third: RunningBroker;
  let cloudPassword: string;
  let car: VehicleProvisioning;
  let dead: number;
  const tcp = (port: number) => `mqtt://127.0.0.1:${port}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-failover-'));
    const registry = await openRegistry(dir);
    await registry.init();
    cloudPassword = await registry.cloudPassword();
    car = await registry.addVehicle('V1', { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' });
    await registry.close();
    const logins = () => new LoginView(join(dir, 'cloud.db'));
    redis = await TestRedis.start();
    refusing = await startBroker({ mqttPort: 0, logins: logins(), cluster: { redisUrl: redis.url } });
    await redis.kill(); // from now on the node answers every CONNECT with "server unavailable"
    second = await startBroker({ mqttPort: 0, logins: logins() });
    third = await startBroker({ mqttPort: 0, wsPort: 0, wsPath: '/elsewhere', logins: logins() });
    dead = await freePort();
  }, 30_000);

  afterAll(async () => {
    for (const broker of [refusing, second, third]) await broker?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the Node client goes past a node down and a node refusing to the next, and on when that one goes', async () => {
    const client: MqttClient = connectMqtt({
      urls: [tcp(dead), tcp(refusing.mqttPort), tcp(second.mqttPort), tcp(third.mqttPort)],
      username: 'cloud',
      password: cloudPassword,
      clientIdPrefix: 'cloud',
      reconnectPeriodMs: 50,
    });
    const nodes: string[] = [];
    client.on('connect', () => nodes.push(currentNode(client)));
    try {
      await waitFor(() => nodes[0], 5000, 'a first connection');
      expect(nodes).toEqual([tcp(second.mqttPort)]);
      await second.close();
      await waitFor(() => nodes[1], 5000, 'the next node');
      expect(nodes).toEqual([tcp(second.mqttPort), tcp(third.mqttPort)]);
    } finally {
      await closeMqtt(client);
    }
  });

  it('the vehicle client fails over along wsUrls, each node on its own WebSocket path', async () => {
    const wsUrls = [`ws://127.0.0.1:${dead}/mqtt`, `ws://127.0.0.1:${third.wsPort}/elsewhere`];
    const provisioning = { ...car, mqtt: { ...car.mqtt, wsUrl: wsUrls[0]!, wsUrls } };
    const vehicle = new VehicleClient({
      provisioning,
      mqttUrl: provisioning.mqtt.wsUrls,
      store: new MemoryCredentialStore(),
      reconnectPeriodMs: 50,
    });
    try {
      await Promise.race([
        vehicle.start(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no node took the vehicle')), 5000)),
      ]);
      expect(vehicle.connectionState).toBe('connected');
    } finally {
      await vehicle.close();
    }
  });
});
