import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64uEncode } from '../shared/index.js';
import { type HeadUnitServer, startHeadUnitServer } from './server.js';

const provisioning = (vid: string) => ({
  v: 1,
  vid,
  vehicleKey: b64uEncode(new Uint8Array(32).fill(1)),
  mqtt: {
    url: 'mqtt://127.0.0.1:1883',
    wsUrl: 'ws://127.0.0.1:8083/mqtt',
    username: `vehicle:${vid}`,
    password: 'pw',
  },
});

describe('startHeadUnitServer', () => {
  let dir: string;
  let dist: string;
  let dev: HeadUnitServer;
  let prod: HeadUnitServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-hu-'));
    dist = join(dir, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><head-unit-app></head-unit-app>');
    writeFileSync(join(dist, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside dist');
    const vehicles = join(dir, 'data', 'provisioning', 'vehicles');
    mkdirSync(vehicles, { recursive: true });
    writeFileSync(join(vehicles, 'car-2.json'), JSON.stringify(provisioning('car-2')));
    writeFileSync(join(vehicles, 'car-1.json'), JSON.stringify(provisioning('car-1')));
    writeFileSync(join(vehicles, 'broken.json'), '{"v":1');
    dev = await startHeadUnitServer({ port: 0, dataDir: join(dir, 'data'), devPicker: true, distDir: dist });
    prod = await startHeadUnitServer({ port: 0, dataDir: join(dir, 'data'), distDir: dist });
  });

  afterAll(async () => {
    await dev?.close();
    await prod?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app, its assets, and the app for unknown routes', async () => {
    const index = await fetch(dev.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<head-unit-app>');
    const asset = await fetch(new URL('assets/app.js', dev.url));
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(await (await fetch(new URL('charging', dev.url))).text()).toContain('<head-unit-app>');
    expect((await fetch(new URL('assets/missing.js', dev.url))).status).toBe(404);
  });

  it('never serves a file outside the build folder', async () => {
    const response = await fetch(new URL('/..%2fsecret.txt', dev.url));
    expect(await response.text()).not.toContain('outside dist');
  });

  it('lists the valid demo vehicles only when the dev picker is asked for', async () => {
    const listed = (await (await fetch(new URL('dev/vehicles', dev.url))).json()) as { vid: string }[];
    expect(listed.map((v) => v.vid)).toEqual(['car-1', 'car-2']);
    expect((await fetch(new URL('dev/vehicles', prod.url))).status).toBe(404);
  });

  it('serves the dev picker to its own loopback origin only', async () => {
    const port = new URL(dev.url).port;
    const ask = (headers: Record<string, string>) => picker(dev.url, headers);
    expect((await ask({ host: `localhost:${port}` })).status).toBe(200);
    expect((await ask({ host: `[::1]:${port}` })).status).toBe(200);
    // DNS rebinding: the attacker's name resolves to loopback, the browser sends it as the Host.
    for (const host of [`rebind.example:${port}`, '127.0.0.1', `127.0.0.1:${Number(port) + 1}`]) {
      const refused = await ask({ host });
      expect(refused.status).toBe(403);
      expect(refused.body).not.toContain('vehicleKey');
    }
    expect((await ask({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await ask({ host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await ask({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  it('refuses to serve the dev picker on an address other than loopback', async () => {
    await expect(
      startHeadUnitServer({ host: '0.0.0.0', port: 0, dataDir: dir, devPicker: true, distDir: dist }),
    ).rejects.toThrow(/loopback only/);
  });

  it('refuses methods other than GET', async () => {
    expect((await fetch(dev.url, { method: 'POST' })).status).toBe(405);
  });
});

/** GET /dev/vehicles with the headers a browser (or an attacker's page) would send, Host included. */
function picker(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('dev/vehicles', url), { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
