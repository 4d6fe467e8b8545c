import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMosquitto } from '../../cloud/mosquitto.js';
import { reconcile } from '../../cloud/reconcile.js';
import { openRegistry } from '../../cloud/registry.js';
import { seedDemo } from '../../cloud/seed.js';
import { freePort, waitForPort } from '../../node/child-process.js';
import { mosquittoHash } from '../../node/password-hash.js';
import { topics } from '../../shared/index.js';
import type { RightsWorld } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';
import { rightsSuite } from '../support/rights-suite.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
const MOSQUITTO_PASSWD = ['/usr/bin/mosquitto_passwd', '/usr/sbin/mosquitto_passwd'].find((p) =>
  existsSync(p),
);

describe('Mosquitto password hashes', () => {
  it.runIf(MOSQUITTO_PASSWD)('match mosquitto_passwd for the same salt', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evauth-pw-'));
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, '');
      const run = spawnSync(MOSQUITTO_PASSWD!, ['-b', file, 'alice', 'correct horse'], { encoding: 'utf8' });
      expect(run.status).toBe(0);
      const line = readFileSync(file, 'utf8').trim();
      const [, hash] = line.split(/:(.*)/s);
      const [, , iterations, salt] = hash!.split('$');
      expect(mosquittoHash('correct horse', Buffer.from(salt!, 'base64'), Number(iterations))).toBe(hash);
      expect(mosquittoHash('wrong', Buffer.from(salt!, 'base64'), Number(iterations))).not.toBe(hash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(MOSQUITTO)("rights on Debian's Mosquitto from the exported files", () => {
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let world: RightsWorld;
  let log = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-mosq-'));
    const [mqttPort, wsPort] = [await freePort(), await freePort()];
    const registry = await openRegistry(dir);
    await registry.init();
    const urls = { mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, wsUrl: `ws://127.0.0.1:${wsPort}/mqtt` };
    const a = await registry.addVehicle('V1', urls);
    const b = await registry.addVehicle('V2', urls);
    await registry.addGateway('G1');
    await registry.addPile('P1', testPileSpec({ gid: 'G1' }));
    await registry.addPile('P2', testPileSpec());
    await registry.setMqttPassword('gateway:G1', 'gw-secret');
    // The test runs as root in CI; without `user root` Mosquitto would drop to an account that cannot read the
    // private temp folder.
    const runAsUser = process.getuid?.() === 0 ? { runAsUser: 'root' } : {};
    await exportMosquitto(registry, join(dir, 'mosquitto'), { mqttPort, wsPort, ...runAsUser });
    world = {
      url: urls.mqttUrl,
      vehicle1: { vid: 'V1', password: a.mqtt.password },
      vehicle2: { vid: 'V2', password: b.mqtt.password },
      gateway: { gid: 'G1', password: 'gw-secret', pid: 'P1' },
      otherPid: 'P2',
      cloudPassword: registry.cloudPassword(),
    };
    await registry.close();
    mosquitto = spawn(MOSQUITTO!, ['-c', join(dir, 'mosquitto', 'mosquitto.conf')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    mosquitto.stderr?.on('data', (d) => (log += d));
    await waitForPort(mqttPort, 10_000).catch((err) => {
      throw new Error(`${err.message}\n${log}`);
    });
  });

  afterAll(async () => {
    if (mosquitto && mosquitto.exitCode === null) {
      const exited = new Promise((resolve) => mosquitto!.once('exit', resolve));
      mosquitto.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  rightsSuite(() => world, { refusesRetained: false });

  it('delivers a burst of 3,000 handshake messages to a gateway that stopped reading for a moment', async () => {
    const { url, gateway, vehicle1 } = world;
    const gw = await mqtt.connectAsync(url, {
      username: `gateway:${gateway.gid}`,
      password: gateway.password,
      reconnectPeriod: 0,
    });
    const car = await mqtt.connectAsync(url, {
      username: `vehicle:${vehicle1.vid}`,
      password: vehicle1.password,
      reconnectPeriod: 0,
    });
    try {
      const topic = topics.pileAuth(gateway.pid);
      await gw.subscribeAsync(topic, { qos: 1 });
      let received = 0;
      gw.on('message', () => received++);
      // The gateway's event loop is busy: it acknowledges nothing while the vehicles' messages pile up.
      (gw.stream as net.Socket).pause();
      await Promise.all(
        Array.from({ length: 3000 }, (_, i) => car.publishAsync(topic, `{"n":${i}}`, { qos: 1 })),
      );
      (gw.stream as net.Socket).resume();
      const until = Date.now() + 10_000;
      while (received < 3000 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(received).toBe(3000);
    } finally {
      await gw.endAsync(true);
      await car.endAsync(true);
    }
  });

  it('writes the Mosquitto settings the issue asks for', () => {
    const conf = readFileSync(join(dir, 'mosquitto', 'mosquitto.conf'), 'utf8');
    expect(conf).toMatch(/^allow_anonymous false$/m);
    expect(conf).toMatch(/^set_tcp_nodelay true$/m);
    expect(conf).toMatch(/^max_queued_messages 20000$/m);
    expect(conf).toMatch(/^protocol websockets$/m);
    const dynsec = JSON.parse(readFileSync(join(dir, 'mosquitto', 'dynamic-security.json'), 'utf8'));
    expect(dynsec.clients.map((c: { username: string }) => c.username).sort()).toEqual([
      'cloud',
      'gateway:G1',
      'vehicle:V1',
      'vehicle:V2',
    ]);
    // The gateway: exact subscriptions per pile, receive ACLs with the pile as +, patterns sent first.
    type Acl = { acltype: string; topic: string; priority: number };
    const role = dynsec.roles.find((r: { rolename: string }) => r.rolename === 'evauth-gateway-G1') as {
      acls: Acl[];
    };
    const of = (type: string) => role.acls.filter((a) => a.acltype === type);
    expect(of('subscribePattern').map((a) => a.topic)).toEqual([
      topics.pileAuth('P1'),
      topics.pileControl('P1'),
    ]);
    expect(of('publishClientReceive').map((a) => a.topic)).toEqual([
      topics.pileAuth('+'),
      topics.pileControl('+'),
    ]);
    const sends = of('publishClientSend');
    expect(sends.find((a) => a.topic === topics.vehicleAuth('+'))?.priority).toBe(1);
    expect(sends.find((a) => a.topic === topics.pileStatus('P1'))?.priority).toBe(0);
    // Everyone else keeps receive ACLs equal to what they may subscribe to.
    const v1 = dynsec.roles.find((r: { rolename: string }) => r.rolename === 'evauth-vehicle-V1') as {
      acls: Acl[];
    };
    const v1Of = (type: string) => v1.acls.filter((a) => a.acltype === type).map((a) => a.topic);
    expect(v1Of('publishClientReceive')).toEqual(v1Of('subscribePattern'));
  });
});

describe('seedDemo', () => {
  it('creates the demo once, then reuses it and only rewrites provisioning URLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evauth-seed-'));
    try {
      const first = await seedDemo(dir, {
        mqttUrl: 'mqtt://127.0.0.1:1883',
        wsUrl: 'ws://127.0.0.1:8083/mqtt',
      });
      expect(first.created).toBe(true);
      expect(first.piles).toHaveLength(6);
      expect(first.vehicles).toHaveLength(3);
      const config = JSON.parse(readFileSync(first.gatewayConfigPath, 'utf8'));
      expect(config.piles).toHaveLength(6);
      expect(config.piles.every((p: { connectors: unknown[] }) => p.connectors.length === 2)).toBe(true);
      const registry = await openRegistry(dir);
      await reconcile(registry, Date.now(), { ticketLifeSeconds: 3600, random: (n) => randomBytes(n) });
      const piles = await registry.store.read((tx) => tx.piles());
      for (const vid of first.vehicles) {
        const ticketed = await registry.store.read(async (tx) => {
          const tickets = await Promise.all(piles.map((p) => tx.latestTicket(vid, p.pid)));
          return tickets.filter((t) => t !== undefined).length;
        });
        expect(ticketed).toBeGreaterThanOrEqual(4);
      }
      expect(new Set(piles.map((p) => p.site)).size).toBe(2);
      await registry.close();
      const before = JSON.parse(readFileSync(first.provisioningFiles[0]!, 'utf8'));
      const second = await seedDemo(dir, {
        mqttUrl: 'mqtt://127.0.0.1:2883',
        wsUrl: 'ws://127.0.0.1:9083/mqtt',
      });
      expect(second.created).toBe(false);
      const after = JSON.parse(readFileSync(second.provisioningFiles[0]!, 'utf8'));
      expect(after.mqtt).toEqual({
        ...before.mqtt,
        url: 'mqtt://127.0.0.1:2883',
        wsUrl: 'ws://127.0.0.1:9083/mqtt',
      });
      expect(after.vehicleKey).toBe(before.vehicleKey);
      expect(JSON.parse(readFileSync(second.gatewayConfigPath, 'utf8')).mqtt.password).toBe(
        config.mqtt.password,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
