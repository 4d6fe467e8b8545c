/**
 * cloud/main.ts as a real child process against a data folder made by `evauth-cloud init` and an in-process
 * broker: directory and credential publication, structured (pino) logging of denied and dropped requests read
 * from the child's stdout, and a prompt exit 0 on SIGTERM.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, type RunningBroker, startBroker } from '../../broker/index.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import type { ChildService } from '../../node/child-process.js';
import { ROOT } from '../../node/child-process.js';
import {
  b64uDecode,
  buildCredentialRequest,
  deriveSealKey,
  deriveVehicleMacKey,
  openCredential,
  topics,
} from '../../shared/index.js';
import { startEntryPoint } from '../support/entry-points.js';
import { collect, connectClient, type Received, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';

describe('cloud/main.ts process', () => {
  let dir: string;
  let registry: Registry;
  let broker: RunningBroker;
  let service: ChildService;
  let vehicle: MqttClient;
  let seen: Received[];
  let vehicleKey: Uint8Array;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-cloud-main-'));
    const init = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cloud/cli.ts'), '--data', dir, 'init'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, EVAUTH_DATA_DIR: '' },
      },
    );
    expect(init.status, init.stderr).toBe(0);
    // the rest of the set-up in-process (what the CLI would do, without a process start per command)
    registry = await openRegistry(dir);
    await registry.addPile('P1', testPileSpec({ name: 'Depot 1' }));
    await registry.addPile(
      'P2',
      testPileSpec({ site: 'B', name: 'Depot 2', address: 'street 2', lat: 51, lon: 8, pricePerKWh: '0.45' }),
    );
    const provisioned = await registry.addVehicle('V1', {
      mqttUrl: 'mqtt://127.0.0.1:1',
      wsUrl: 'ws://127.0.0.1:1/mqtt',
    });
    vehicleKey = b64uDecode(provisioned.vehicleKey);
    await registry.grant('V1', { scope: 'pile', target: 'P1' });

    broker = await startBroker({ mqttPort: 0, logins: new LoginView(join(dir, 'cloud.db')) });
    const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    vehicle = await connectClient(url, 'vehicle:V1', provisioned.mqtt.password);
    seen = collect(vehicle);
    await vehicle.subscribeAsync([topics.vehicleAll('V1'), 'evauth/v1/directory/#'], { qos: 1 });
    service = await startEntryPoint('cloud/main.ts', ['--data', dir, '--mqtt-url', url]);
    await service.waitForLog((l) => l.msg === 'cloud connected to broker', 10_000, 'service connected');
  });

  afterAll(async () => {
    vehicle?.end(true);
    await service?.stop('SIGKILL');
    await broker?.close();
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the directory entry of every pile, retained', async () => {
    const entry = await waitFor(
      () => seen.find((m) => m.topic === topics.directoryPile('P1')),
      5000,
      'directory P1',
    );
    expect(JSON.parse(entry.payload)).toMatchObject({
      v: 1,
      pid: 'P1',
      name: 'Depot 1',
      site: 'A',
      tariff: { pricePerKWh: '0.40', currency: 'EUR' },
    });
    await waitFor(() => seen.find((m) => m.topic === topics.directoryPile('P2')), 5000, 'directory P2');
  });

  it("publishes the vehicle's credential for its grant, and none for the pile without one", async () => {
    const message = await waitFor(
      () => seen.find((m) => m.topic === topics.credential('V1', 'P1') && m.payload !== ''),
      5000,
      'credential',
    );
    const opened = openCredential(deriveSealKey(vehicleKey, 'V1'), message.topic, message.payload);
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      expect(opened.value.pid).toBe('P1');
      expect(opened.value.parsed.body.vid).toBe('V1');
    }
    expect(seen.filter((m) => m.topic === topics.credential('V1', 'P2') && m.payload !== '')).toEqual([]);
  });

  it('logs a denied credential.request as a structured line: level, outcome, code, vid, pile', async () => {
    const now = Math.floor(Date.now() / 1000);
    const request = buildCredentialRequest(deriveVehicleMacKey(vehicleKey, 'V1'), 'V1', 'P2', now, (n) =>
      randomBytes(n),
    );
    await vehicle.publishAsync(topics.credentialRequests(), JSON.stringify(request), { qos: 1 });
    const line = await service.waitForLog(
      (l) => l['outcome'] === 'denied' && l['pile'] === 'P2',
      5000,
      'denial log line',
    );
    expect(line).toMatchObject({ name: 'evauth-cloud', vid: 'V1', pile: 'P2', code: 'NOT_ENTITLED' });
    // pino's own fields are intact: `pid` is the process id, not overwritten by a pile id
    expect(line['pid']).toBe(service.pid);
    expect(line.level).toBeGreaterThanOrEqual(30); // visible at pino's default level
    expect(typeof line['time']).toBe('number');
    // the vehicle got the same code on the wire
    const denial = await waitFor(
      () => seen.find((m) => m.topic === topics.vehicleCloud('V1')),
      3000,
      'credential.denied',
    );
    expect(JSON.parse(denial.payload)).toMatchObject({
      type: 'credential.denied',
      pid: 'P2',
      code: line['code'],
    });
  });

  it('drops a request that does not verify, unanswered, and logs the count at warn level with the reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = buildCredentialRequest(deriveVehicleMacKey(randomBytes(32), 'V1'), 'V1', 'P1', now, (n) =>
      randomBytes(n),
    );
    await vehicle.publishAsync(topics.credentialRequests(), JSON.stringify(forged), { qos: 1 });
    await vehicle.publishAsync(topics.credentialRequests(), '{"v":1,"type":"credential.request"}', {
      qos: 1,
    });
    const line = await service.waitForLog(
      (l) => {
        const dropped = l['dropped'] as Record<string, number> | undefined;
        return dropped?.['BAD_MAC'] === 1 && dropped['MALFORMED'] === 1;
      },
      5000,
      'dropped requests log line',
    );
    expect(line).toMatchObject({ name: 'evauth-cloud', msg: 'credential.requests dropped unanswered' });
    expect(line.level).toBe(40);
    expect(typeof line['reason']).toBe('string');
    expect(service.logs.some((l) => l['code'] === 'BAD_MAC')).toBe(false);
    // nothing reached the vehicle for either: the one denial on its topic is the earlier NOT_ENTITLED
    await vehicle.publishAsync(
      topics.credentialRequests(),
      JSON.stringify(
        buildCredentialRequest(deriveVehicleMacKey(vehicleKey, 'V1'), 'V1', 'P2', now, (n) => randomBytes(n)),
      ),
      { qos: 1 },
    );
    const denials = () => seen.filter((m) => m.topic === topics.vehicleCloud('V1'));
    await waitFor(() => denials().length === 2 || undefined, 3000, 'second NOT_ENTITLED');
    expect(denials().map((m) => JSON.parse(m.payload).code)).toEqual(['NOT_ENTITLED', 'NOT_ENTITLED']);
    expect(service.otherStdout).toEqual([]);
  });

  it('exits 0 promptly on SIGTERM', async () => {
    const { code, ms } = await service.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
    expect(service.logs.some((l) => l.msg === 'stopping' && l['signal'] === 'SIGTERM')).toBe(true);
    expect(service.logs.some((l) => l.msg === 'cloud service stopped')).toBe(true);
    expect(service.stderr).toBe('');
  });
});

describe('cloud/main.ts process without a usable set-up', () => {
  const dirs: string[] = [];
  let service: ChildService | undefined;
  afterAll(async () => {
    await service?.stop('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a data folder that was never initialised: clear message, non-zero exit, no stack trace', () => {
    const empty = mkdtempSync(join(tmpdir(), 'evauth-cloud-main-empty-'));
    dirs.push(empty);
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cloud/main.ts'), '--data', empty, '--mqtt-url', 'mqtt://127.0.0.1:1'],
      { cwd: ROOT, encoding: 'utf8', timeout: 10_000 },
    );
    expect(run.status).not.toBe(0);
    expect(run.status).not.toBeNull();
    expect(run.stderr).toMatch(/no registry.*evauth-cloud init/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('keeps running while the broker is unreachable and still exits 0 promptly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evauth-cloud-main-nobroker-'));
    dirs.push(dir);
    const registry = await openRegistry(dir);
    await registry.init();
    await registry.close();
    // a port that was free a moment ago: nothing listens there
    const closed = await startBroker({ mqttPort: 0, logins: { authenticate: () => undefined } });
    const port = closed.mqttPort;
    await closed.close();
    service = await startEntryPoint('cloud/main.ts', [
      '--data',
      dir,
      '--mqtt-url',
      `mqtt://127.0.0.1:${port}`,
    ]);
    const failure = await service.waitForLog((l) => l.msg === 'mqtt error', 10_000, 'connection failure');
    expect(failure.level).toBe(40);
    expect(service.exitCode).toBeNull();
    const { code, ms } = await service.stop('SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
  });
});
