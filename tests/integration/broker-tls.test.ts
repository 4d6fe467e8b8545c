/**
 * TLS and WSS listeners of the embedded broker, with a throwaway self-signed certificate made at test time by
 * the openssl CLI (nothing committed). Clients verify the server against that certificate as their only CA.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, type RunningBroker, startBroker } from '../../broker/index.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import type { ChildService } from '../../node/child-process.js';
import { ROOT } from '../../node/child-process.js';
import { topics } from '../../shared/index.js';
import { startEntryPoint } from '../support/entry-points.js';
import { collect, connectClient, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';
import { makeCertificate } from '../support/tls.js';

describe('broker over TLS and WSS', () => {
  let dir: string;
  let registry: Registry;
  let broker: RunningBroker;
  let ca: Buffer;
  let vehiclePassword: string;
  const open: MqttClient[] = [];
  const secure = () => ({ ca, rejectUnauthorized: true });
  const track = (client: MqttClient) => {
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-broker-tls-'));
    const cert = makeCertificate(dir);
    ca = cert.ca;
    registry = await openRegistry(dir);
    await registry.init();
    vehiclePassword = (
      await registry.addVehicle('V1', {
        mqttUrl: 'mqtts://127.0.0.1:1',
        wsUrl: 'wss://127.0.0.1:1/mqtt',
      })
    ).mqtt.password;
    await registry.addGateway('G1');
    await registry.addPile('P1', testPileSpec({ gid: 'G1' }));
    await registry.setMqttPassword('gateway:G1', 'gw-password');
    broker = await startBroker({
      mqttPort: 0,
      wsPort: 0,
      tls: { certPath: cert.certPath, keyPath: cert.keyPath },
      logins: new LoginView(join(dir, 'cloud.db')),
    });
  });

  afterAll(async () => {
    for (const client of open) client.end(true);
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens for TLS and WSS on two different free ports', () => {
    expect(broker.mqttPort).toBeGreaterThan(0);
    expect(broker.wsPort).toBeGreaterThan(0);
    expect(broker.wsPort).not.toBe(broker.mqttPort);
  });

  it('carries a publish from an mqtts:// vehicle to a wss:// gateway and back', async () => {
    const vehicle = track(
      await connectClient(`mqtts://127.0.0.1:${broker.mqttPort}`, 'vehicle:V1', vehiclePassword, secure()),
    );
    const gateway = track(
      await connectClient(`wss://127.0.0.1:${broker.wsPort}/mqtt`, 'gateway:G1', 'gw-password', secure()),
    );
    // the server really spoke TLS, verified against our certificate
    expect(vehicle.stream).toBeInstanceOf(tls.TLSSocket);
    expect((vehicle.stream as tls.TLSSocket).authorized).toBe(true);

    const atGateway = collect(gateway);
    const atVehicle = collect(vehicle);
    expect((await gateway.subscribeAsync(topics.pileAuth('P1'), { qos: 1 }))[0]?.qos).toBe(1);
    expect((await vehicle.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 }))[0]?.qos).toBe(1);

    await vehicle.publishAsync(topics.pileAuth('P1'), 'hello-over-tls', { qos: 1 });
    const up = await waitFor(() => atGateway.find((m) => m.payload === 'hello-over-tls'), 3000, 'at gateway');
    expect(up.topic).toBe(topics.pileAuth('P1'));

    await gateway.publishAsync(topics.vehicleAuth('V1'), 'reply-over-wss', { qos: 1 });
    const down = await waitFor(
      () => atVehicle.find((m) => m.payload === 'reply-over-wss'),
      3000,
      'at vehicle',
    );
    expect(down.topic).toBe(topics.vehicleAuth('V1'));
  });

  it('refuses a wrong password over TLS and over WSS with CONNACK code 4', async () => {
    const code = (p: Promise<MqttClient>) =>
      p.then(
        (c) => {
          track(c);
          return 'connected';
        },
        (err: { code?: number }) => err.code,
      );
    expect(
      await code(connectClient(`mqtts://127.0.0.1:${broker.mqttPort}`, 'vehicle:V1', 'wrong', secure())),
    ).toBe(4);
    expect(
      await code(connectClient(`wss://127.0.0.1:${broker.wsPort}/mqtt`, 'vehicle:V1', 'wrong', secure())),
    ).toBe(4);
  });

  it('gives a plain-TCP MQTT client no CONNACK on the TLS port', async () => {
    // mqtt.js over plain TCP: the TLS server cannot parse a CONNECT and drops the connection
    await expect(
      connectClient(`mqtt://127.0.0.1:${broker.mqttPort}`, 'vehicle:V1', vehiclePassword, {
        connectTimeout: 2000,
      }),
    ).rejects.toThrow();

    // the same at the byte level: a raw CONNECT gets no MQTT answer, only the socket closed
    const socket = net.connect(broker.mqttPort, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client id "x"
    socket.write(
      Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78]),
    );
    await closed;
    const reply = Buffer.concat(received);
    expect(reply[0]).not.toBe(0x20); // 0x20 would be a CONNACK
  });

  it('refuses a TLS client that does not trust the certificate (verification is on)', async () => {
    await expect(
      connectClient(`mqtts://127.0.0.1:${broker.mqttPort}`, 'vehicle:V1', vehiclePassword, {
        rejectUnauthorized: true,
      }),
    ).rejects.toThrow(/self[- ]signed/i);
  });
});

describe('broker/main.ts with --tls-cert and --tls-key', () => {
  let dir: string;
  let broker: ChildService;
  let password: string;
  let ca: Buffer;
  let cert: ReturnType<typeof makeCertificate>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-broker-main-tls-'));
    cert = makeCertificate(dir);
    ca = cert.ca;
    const registry = await openRegistry(dir);
    await registry.init();
    password = (
      await registry.addVehicle('V1', { mqttUrl: 'mqtts://127.0.0.1:1', wsUrl: 'wss://127.0.0.1:1/mqtt' })
    ).mqtt.password;
    await registry.close();
  });

  afterAll(async () => {
    await broker?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves mqtts:// and wss:// with the given certificate and exits 0 on SIGTERM', async () => {
    broker = await startEntryPoint('broker/main.ts', [
      ...['--data', dir, '--mqtt-port', '0', '--ws-port', '0'],
      ...['--tls-cert', cert.certPath, '--tls-key', cert.keyPath],
    ]);
    const listening = await broker.waitForLog(
      (l) => l.msg === 'broker listening',
      10_000,
      'broker listening',
    );
    expect(listening['tls']).toBe(true);
    const options = { ca, rejectUnauthorized: true };
    const viaTls = await connectClient(
      `mqtts://127.0.0.1:${listening['mqttPort']}`,
      'vehicle:V1',
      password,
      options,
    );
    const viaWss = await connectClient(
      `wss://127.0.0.1:${listening['wsPort']}/mqtt`,
      'vehicle:V1',
      password,
      {
        ...options,
        clientId: 'vehicle-V1-wss',
      },
    );
    expect(viaTls.connected && viaWss.connected).toBe(true);
    await Promise.all([viaTls.endAsync(), viaWss.endAsync()]);
    const { code, ms } = await broker.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
  });

  it('refuses --tls-cert without --tls-key: clear message, exit 2', () => {
    const run = spawnSync(
      process.execPath,
      [
        ...['--import', 'tsx', join(ROOT, 'broker/main.ts'), '--data', dir],
        ...['--mqtt-port', '0', '--ws-port', '0', '--tls-cert', cert.certPath],
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 10_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--tls-cert and --tls-key go together/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
