/** broker/main.ts as a real child process: starts on free ports, accepts a registry login, exits 0 on SIGTERM. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../cloud/registry.js';
import type { ChildService, LogLine } from '../../node/child-process.js';
import { ROOT } from '../../node/child-process.js';
import { topics } from '../../shared/index.js';
import { startEntryPoint } from '../support/entry-points.js';
import { collect, connectClient, connectWithRetry, waitFor } from '../support/mqtt.js';

describe('broker/main.ts process', () => {
  let dir: string;
  let broker: ChildService;
  let password: string;
  let cloudPassword: string;
  let listening: LogLine;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-broker-main-'));
    const registry = await openRegistry(dir);
    await registry.init();
    password = (
      await registry.addVehicle('V1', { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' })
    ).mqtt.password;
    cloudPassword = registry.cloudPassword();
    await registry.close();
    broker = await startEntryPoint('broker/main.ts', ['--data', dir, '--mqtt-port', '0', '--ws-port', '0']);
    listening = await broker.waitForLog((l) => l.msg === 'broker listening', 10_000, 'broker listening');
  });

  afterAll(async () => {
    await broker?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the free ports it bound in a structured start-up line', () => {
    expect(listening).toMatchObject({ level: 30, name: 'evauth-broker', host: '127.0.0.1', tls: false });
    expect(listening['mqttPort']).toBeGreaterThan(0);
    expect(listening['wsPort']).toBeGreaterThan(0);
  });

  it('accepts registry logins over TCP and WebSocket, relays a message, refuses a wrong password', async () => {
    const cloud = await connectClient(`mqtt://127.0.0.1:${listening['mqttPort']}`, 'cloud', cloudPassword);
    const vehicle = await connectClient(`ws://127.0.0.1:${listening['wsPort']}/mqtt`, 'vehicle:V1', password);
    const seen = collect(vehicle);
    await vehicle.subscribeAsync(topics.vehicleAll('V1'), { qos: 1 });
    await cloud.publishAsync(topics.vehicleCloud('V1'), 'through-the-process', { qos: 1 });
    await waitFor(() => seen.find((m) => m.payload === 'through-the-process'), 3000, 'relayed message');
    await Promise.all([cloud.endAsync(), vehicle.endAsync()]);
    await expect(
      connectClient(`mqtt://127.0.0.1:${listening['mqttPort']}`, 'vehicle:V1', 'wrong'),
    ).rejects.toMatchObject({ code: 4 });
    await waitFor(
      () => broker.logs.find((l) => l.msg === 'mqtt login refused' && l['username'] === 'vehicle:V1'),
      3000,
      'refusal logged',
    );
  });

  it('exits 0 promptly on SIGTERM, even with a client connected', async () => {
    const client = await connectWithRetry(
      `mqtt://127.0.0.1:${listening['mqttPort']}`,
      'vehicle:V1',
      password,
    );
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const { code, ms } = await broker.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    await closed; // the broker dropped the client on the way out
    client.end(true);
    expect(broker.logs.some((l) => l.msg === 'stopping' && l['signal'] === 'SIGTERM')).toBe(true);
    expect(broker.logs.some((l) => l.msg === 'broker stopped')).toBe(true);
    expect(broker.otherStdout).toEqual([]);
  });

  it('refuses to start without a registry: clear message, exit 2, no stack trace', () => {
    const empty = mkdtempSync(join(tmpdir(), 'evauth-broker-empty-'));
    try {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'broker/main.ts'),
          '--data',
          empty,
          '--mqtt-port',
          '0',
          '--ws-port',
          '0',
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 10_000 },
      );
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/no registry/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
  it('refuses a bad port in the environment: clear message, exit 2, no stack trace', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'broker/main.ts'), '--data', dir],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 10_000,
        env: { ...process.env, EVAUTH_MQTT_PORT: 'not-a-port' },
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/EVAUTH_MQTT_PORT must be a port number/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
  it('refuses a Redis URL that is not one: clear message, exit 2, no stack trace', () => {
    const broker = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'broker/main.ts'), '--data', dir, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 10_000,
        env: { ...process.env, ...env },
      });
    const fromEnv = broker([], { EVAUTH_REDIS_URL: 'http://redis.example:6379' });
    expect(fromEnv.status).toBe(2);
    expect(fromEnv.stderr).toMatch(/EVAUTH_REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    const fromFlag = broker(['--redis-url', 'not a url']);
    expect(fromFlag.status).toBe(2);
    expect(fromFlag.stderr).toMatch(/--redis-url.*must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(fromEnv.stderr + fromFlag.stderr).not.toMatch(/\n\s+at /);
  });
});
