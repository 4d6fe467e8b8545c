/**
 * Least privilege: the broker process logs everyone in through the registry's read-only login view and never
 * needs the master key that unseals every pile root key. Run as root (CI), the broker runs as `nobody`, which can
 * read the registry database but not master.key (checked: `cat master.key` as nobody fails); as another user,
 * master.key is moved away while the broker runs. Also: a revocation reaches the running broker at once — the
 * revoked vehicle's connection is closed and its login refused, with no restart or reload.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGateway, openRegistry, type Registry } from '../../cloud/index.js';
import { type ChildService, freePort } from '../../node/child-process.js';
import { topics } from '../../shared/index.js';
import { startEntryPoint } from '../support/entry-points.js';
import { collect, connectClient, waitFor } from '../support/mqtt.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

describe('broker least privilege', () => {
  let dir: string;
  let registry: Registry;
  let broker: ChildService;
  let url: string;
  const passwords: Record<string, string> = {};
  const clients: MqttClient[] = [];
  let hiddenKey: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-least-privilege-'));
    registry = await openRegistry(dir);
    await registry.init();
    passwords['cloud'] = registry.cloudPassword();
    for (const vid of ['LP-1', 'LP-2']) {
      const provisioned = await registry.addVehicle(vid, {
        mqttUrl: 'mqtt://127.0.0.1:1',
        wsUrl: 'ws://127.0.0.1:1/mqtt',
      });
      passwords[`vehicle:${vid}`] = provisioned.mqtt.password;
    }
    await registry.addGateway('gw-lp');
    const gatewayDir = join(dir, 'gateways', 'gw-lp');
    await exportGateway(dir, 'gw-lp', { mqttUrl: 'mqtt://127.0.0.1:1', outDir: gatewayDir });
    const config = JSON.parse(spawnSync('cat', [join(gatewayDir, 'config.json')]).stdout.toString());
    passwords['gateway:gw-lp'] = config.mqtt.password;

    const masterKey = join(dir, 'master.key');
    const brokerUser = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
    if (asRoot) {
      // The broker's group may read the registry database (and its WAL files), nothing else.
      chownSync(dir, 0, NOBODY);
      chmodSync(dir, 0o750);
      for (const file of readdirSync(dir).filter((f) => f.startsWith('cloud.db'))) {
        chownSync(join(dir, file), 0, NOBODY);
        chmodSync(join(dir, file), 0o640);
      }
    } else {
      hiddenKey = `${masterKey}.away`;
      renameSync(masterKey, hiddenKey);
    }
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    broker = await startEntryPoint(
      'broker/main.ts',
      ['--data', dir, '--mqtt-port', String(port), '--ws-port', '0'],
      brokerUser,
    );
    await broker.waitForLog((l) => l.msg === 'broker listening', 15_000, 'broker listening');
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await broker?.stop('SIGKILL');
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cannot read master.key', () => {
    const masterKey = join(dir, 'master.key');
    if (asRoot) {
      expect(existsSync(masterKey)).toBe(true);
      const attempt = spawnSync('cat', [masterKey], { uid: NOBODY, gid: NOBODY });
      expect(attempt.status).not.toBe(0);
      expect(attempt.stderr.toString()).toMatch(/Permission denied/);
      // and the broker really is that user
      const status = spawnSync('cat', [`/proc/${broker.pid}/status`]).stdout.toString();
      expect(status).toMatch(new RegExp(`^Uid:\\s+${NOBODY}\\b`, 'm'));
    } else {
      expect(existsSync(masterKey)).toBe(false);
    }
  });

  it('logs in the cloud, a gateway and vehicles, and refuses a wrong password', async () => {
    for (const username of ['cloud', 'gateway:gw-lp', 'vehicle:LP-1', 'vehicle:LP-2']) {
      clients.push(await connectClient(url, username, passwords[username]));
    }
    await expect(connectClient(url, 'vehicle:LP-1', 'wrong')).rejects.toMatchObject({ code: 4 });
    await expect(connectClient(url, 'vehicle:nobody-knows', 'x')).rejects.toMatchObject({ code: 4 });
  });

  it('cuts a revoked vehicle off at once and refuses its login from then on', async () => {
    const car = await connectClient(url, 'vehicle:LP-2', passwords['vehicle:LP-2']);
    clients.push(car);
    const cloud = await connectClient(url, 'cloud', passwords['cloud']);
    clients.push(cloud);
    const seen = collect(car);
    await car.subscribeAsync(topics.vehicleAll('LP-2'), { qos: 1 });
    let closed = false;
    car.on('close', () => {
      closed = true;
    });
    await registry.revokeVehicle('LP-2');
    await waitFor(() => closed || undefined, 3000, 'the revoked vehicle disconnected');
    await broker.waitForLog((l) => l.msg === 'login withdrawn; connection closed', 3000, 'withdrawal logged');
    await cloud.publishAsync(topics.vehicleCloud('LP-2'), 'after revocation', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.some((m) => m.payload === 'after revocation')).toBe(false);
    await expect(connectClient(url, 'vehicle:LP-2', passwords['vehicle:LP-2'])).rejects.toMatchObject({
      code: 4,
    });
    // the other vehicle is untouched
    expect(clients[2]?.connected).toBe(true);
  });
});
