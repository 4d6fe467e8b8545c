/**
 * `npm start`: two copies side by side from the environment, both ready, data reused, clean Ctrl-C.
 * Readiness takes ~5 s on an idle machine; the limits here are for a loaded CI machine starting eight processes.
 * The default serves no vehicle key; `--dev-picker` serves the demo vehicles to the head unit's own origin only
 * (issue #13 finding 2: any page reached through DNS rebinding read every vehicle's keys).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildService, TSX } from '../../node/child-process.js';

const run = promisify(execFile);
const dirs: string[] = [];
const services: ChildService[] = [];

afterAll(async () => {
  for (const s of services) await s.stop('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function copy(dataDir: string, args: string[] = []): ChildService {
  const service = ChildService.node('npm start', 'scripts/start.ts', args, {
    env: {
      LOG_LEVEL: 'info',
      EVAUTH_DATA_DIR: dataDir,
      EVAUTH_MQTT_PORT: '0',
      EVAUTH_WS_PORT: '0',
      EVAUTH_HTTP_PORT: '0',
      EVAUTH_GATEWAY_HTTP_PORT: '0',
    },
  });
  services.push(service);
  return service;
}

const ready = (out: string) => out.includes('Ctrl-C to stop.');

/** GET /dev/vehicles of a head unit under the given Host header (what a rebinding page's fetch sends). */
function askPicker(headUnit: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('dev/vehicles', headUnit), { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('npm start', () => {
  it('runs two copies side by side, serves a charge, stops on Ctrl-C and reuses its data', async () => {
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-start-a-'));
    const b = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-start-b-'));
    dirs.push(a, b);
    const first = copy(a);
    const second = copy(b);
    await Promise.all([first.start(ready, 60_000), second.start(ready, 60_000)]);
    expect(first.output).toMatch(/demo data\s+created/);

    const headUnit = /head unit\s+(http:\/\/\S+)/.exec(first.output)?.[1];
    expect((await fetch(headUnit!)).status).toBe(200);
    // The default serves no vehicle key, whatever the Host.
    const own = new URL(headUnit!).host;
    const plain = await askPicker(headUnit!, own);
    expect(plain.status).toBe(404);
    expect(plain.body).not.toContain('vehicleKey');
    expect(first.output).toContain('npm start -- --dev-picker');
    const health = /(http:\/\/127\.0\.0\.1:\d+)\/healthz/.exec(second.output)?.[1];
    expect((await (await fetch(`${health}/healthz`)).json()).ok).toBe(true);
    // The operator page, its token in the printed address.
    const operator = new URL(/operator page\s+(http:\/\/\S+)/.exec(first.output)?.[1] ?? '');
    expect((await fetch(operator)).status).toBe(200);
    const token = operator.searchParams.get('token');
    const view = await fetch(new URL('api/view', operator), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect((await view.json()).gid).toBe('gw-demo');

    // Three vehicles provisioned, each pointing at its own copy's broker.
    const vehicles = fs.readdirSync(path.join(a, 'provisioning', 'vehicles'));
    expect(vehicles).toHaveLength(3);
    const brokerA = /MQTT broker\s+(mqtt:\/\/\S+)/.exec(first.output)?.[1];
    const anna = JSON.parse(fs.readFileSync(path.join(a, 'provisioning', 'vehicles', vehicles[0]!), 'utf8'));
    expect(anna.mqtt.url).toBe(brokerA);

    const { stdout } = await run(TSX, [
      'head-unit/cli/main.ts',
      '-p',
      path.join(a, 'provisioning', 'vehicles', vehicles[0]!),
      '--pile',
      'P1',
      '-s',
      '2',
      '--json',
    ]);
    const out = JSON.parse(stdout);
    expect(out.ok).toBe(true);
    expect(out.rejected).toEqual([]);
    expect(out.receipt.reason).toBe('stopped');

    expect((await first.stop('SIGINT')).code).toBe(0);
    expect((await second.stop('SIGINT')).code).toBe(0);

    const again = copy(a, ['--dev-picker']);
    await again.start(ready, 60_000);
    expect(again.output).toMatch(/demo data\s+reused/);
    // Asked for, the picker answers the head unit's own origin, and no other Host (DNS rebinding).
    const pickerUnit = /head unit\s+(http:\/\/\S+)/.exec(again.output)?.[1] ?? '';
    const port = new URL(pickerUnit).port;
    const served = await askPicker(pickerUnit, `localhost:${port}`);
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body)).toHaveLength(3);
    const rebound = await askPicker(pickerUnit, `attacker.example:${port}`);
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('vehicleKey');
    // The broker got another free port this time; the provisioning files follow it.
    const brokerAgain = /MQTT broker\s+(mqtt:\/\/\S+)/.exec(again.output)?.[1];
    const annaAgain = JSON.parse(
      fs.readFileSync(path.join(a, 'provisioning', 'vehicles', vehicles[0]!), 'utf8'),
    );
    expect(annaAgain.mqtt.url).toBe(brokerAgain);
    expect((await again.stop('SIGINT')).code).toBe(0);
  }, 180_000);
});
