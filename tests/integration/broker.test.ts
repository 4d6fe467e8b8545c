import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, startBroker } from '../../broker/index.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { MAX_CONTROL_PAYLOAD_BYTES, topics } from '../../shared/index.js';
import { collect, connectClient, type RightsWorld, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';
import { rightsSuite } from '../support/rights-suite.js';

describe('embedded broker with registry logins', () => {
  let dir: string;
  let registry: Registry;
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let world: RightsWorld;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-broker-'));
    registry = await openRegistry(dir);
    await registry.init();
    const urls = { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' };
    const a = await registry.addVehicle('V1', urls);
    const b = await registry.addVehicle('V2', urls);
    await registry.addGateway('G1');
    await registry.addPile('P1', testPileSpec({ gid: 'G1' }));
    await registry.addPile('P2', testPileSpec());
    await registry.setMqttPassword('gateway:G1', 'gw-password');
    broker = await startBroker({
      mqttPort: 0,
      wsPort: 0,
      maxPacketBytes: 16 * 1024,
      logins: new LoginView(join(dir, 'cloud.db')),
    });
    world = {
      url: `mqtt://127.0.0.1:${broker.mqttPort}`,
      vehicle1: { vid: 'V1', password: a.mqtt.password },
      vehicle2: { vid: 'V2', password: b.mqtt.password },
      gateway: { gid: 'G1', password: 'gw-password', pid: 'P1' },
      otherPid: 'P2',
      cloudPassword: registry.cloudPassword(),
    };
  });

  afterAll(async () => {
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  rightsSuite(() => world, { refusesRetained: true });

  it('answers a refused subscription with SUBACK 0x80 and keeps the connection', async () => {
    const { subscribeCode } = await import('../support/mqtt.js');
    const client = await connectClient(world.url, 'vehicle:V1', world.vehicle1.password);
    expect(await subscribeCode(client, '#')).toBe(128);
    expect(await subscribeCode(client, topics.vehicleAll('V2'))).toBe(128);
    expect(await subscribeCode(client, topics.vehicleAll('V1'))).toBe(1);
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('accepts MQTT over WebSocket on /mqtt with the same login', async () => {
    const client = await connectClient(
      `ws://127.0.0.1:${broker.wsPort}/mqtt`,
      'vehicle:V1',
      world.vehicle1.password,
    );
    const seen = collect(client);
    await client.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    const cloud = await connectClient(world.url, 'cloud', world.cloudPassword);
    await cloud.publishAsync(topics.vehicleCloud('V1'), 'over-ws', { qos: 1 });
    await waitFor(() => seen.find((m) => m.payload === 'over-ws'), 3000, 'message over WebSocket');
    await Promise.all([client.endAsync(), cloud.endAsync()]);
    await expect(
      connectClient(`ws://127.0.0.1:${broker.wsPort}/mqtt`, 'vehicle:V1', 'bad'),
    ).rejects.toThrow();
  });

  it('refuses a revoked vehicle', async () => {
    await registry.addVehicle('V3', { mqttUrl: 'mqtt://x:1', wsUrl: 'ws://x:1/mqtt' });
    const password = JSON.parse(
      (await import('node:fs')).readFileSync(registry.vehicleProvisioningPath('V3'), 'utf8'),
    ).mqtt.password;
    const ok = await connectClient(world.url, 'vehicle:V3', password);
    await ok.endAsync();
    await registry.revokeVehicle('V3');
    await expect(connectClient(world.url, 'vehicle:V3', password)).rejects.toThrow();
  });

  it('closes a connection that announces a packet over the size limit before buffering it', async () => {
    const socket = net.connect(broker.mqttPort, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // CONNECT fixed header announcing 1 MiB of remaining length (0x80 0x80 0x40).
    socket.write(Buffer.from([0x10, 0x80, 0x80, 0x40, 0x00]));
    await closed;
    expect(socket.destroyed).toBe(true);
    const client = await connectClient(world.url, 'vehicle:V1', world.vehicle1.password);
    const closedAfterBigPublish = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(topics.pileAuth('P1'), Buffer.alloc(20 * 1024, 0x41));
    await closedAfterBigPublish;
    client.end(true);
  });

  it('takes a pile.control of up to 256 KiB from the cloud only, and only on piles/+/control', async () => {
    const control = Buffer.alloc(MAX_CONTROL_PAYLOAD_BYTES, 0x41);
    const gateway = await connectClient(world.url, 'gateway:G1', 'gw-password');
    const cloud = await connectClient(world.url, 'cloud', world.cloudPassword);
    try {
      const received = collect(gateway);
      await gateway.subscribeAsync(topics.pileControl('P1'), { qos: 1 });
      await cloud.publishAsync(topics.pileControl('P1'), control, { qos: 1 });
      const got = await waitFor(() => received.find((m) => m.topic === topics.pileControl('P1')), 5000);
      expect(got.payload.length).toBe(MAX_CONTROL_PAYLOAD_BYTES);
      // the same size on another of the cloud's topics is refused (the connection closed)
      const closed = new Promise<void>((resolve) => cloud.once('close', () => resolve()));
      cloud.publish(topics.directoryPile('P1'), control, { qos: 1 });
      await closed;
    } finally {
      cloud.end(true);
      await gateway.endAsync();
    }
    // everyone else keeps the small limit, on pile.control too
    const vehicle = await connectClient(world.url, 'vehicle:V1', world.vehicle1.password);
    const closed = new Promise<void>((resolve) => vehicle.once('close', () => resolve()));
    vehicle.publish(topics.pileControl('P1'), control);
    await closed;
    vehicle.end(true);
  });
});
