/**
 * `evauth-cloud gateway export` again over a gateway's folder: the registry's fields are written anew, and what the
 * operator set by hand in the earlier config (its sync level, session limits, signed intermediate readings, data
 * folder, HTTP address) is kept, so a re-export after a new pile does not silently undo them. The gateway's own
 * config loader reads the result.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeGatewayExport } from '../../cloud/export.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { loadGatewayConfig } from '../../pile-gateway/index.js';
import { testPileSpec } from '../support/pile-spec.js';

let dir: string;
let registry: Registry;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evauth-export-'));
  registry = await openRegistry(dir);
  await registry.init();
  await registry.addGateway('G1');
  await registry.addPile('P1', testPileSpec({ gid: 'G1' }));
});
afterEach(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gateway export over an earlier one', () => {
  it("writes the registry's fields anew and keeps the operator's own settings", async () => {
    const outDir = join(dir, 'gw');
    const configPath = await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    const first = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(first.dataDir).toBe('data');
    expect(first.sqliteSync).toBeUndefined();

    const edited = {
      ...first,
      dataDir: '/var/lib/evauth-gateway',
      sqliteSync: 'full',
      openSessionsPerVehicle: { pile: 1, site: 2 },
      ocmfReadingIntervalMs: 900_000,
      meterIntervalMs: 2000,
      http: { ...first.http, host: '0.0.0.0', port: 9500 },
    };
    writeFileSync(configPath, JSON.stringify(edited), { mode: 0o600 });
    await registry.addPile('P2', testPileSpec({ gid: 'G1' }));
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1884', outDir });

    const again = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(again.piles.map((p: { pid: string }) => p.pid)).toEqual(['P1', 'P2']);
    expect(again.mqtt.url).toBe('mqtt://127.0.0.1:1884');
    expect(again.mqtt.password).toBe(first.mqtt.password);
    expect(again).toMatchObject({
      dataDir: '/var/lib/evauth-gateway',
      sqliteSync: 'full',
      openSessionsPerVehicle: { pile: 1, site: 2 },
      ocmfReadingIntervalMs: 900_000,
      meterIntervalMs: 2000,
      http: { host: '0.0.0.0', port: 9500, token: first.http.token },
    });
    const loaded = loadGatewayConfig(configPath).config;
    expect(loaded.sqliteSync).toBe('full');
    expect(loaded.ocmfReadingIntervalMs).toBe(900_000);
    expect(loaded.piles).toHaveLength(2);

    // options given on the command line win over the earlier file
    await writeGatewayExport(registry, 'G1', {
      mqttUrl: 'mqtt://127.0.0.1:1884',
      outDir,
      httpPort: 9600,
      meterIntervalMs: 1000,
    });
    const third = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(third.http.port).toBe(9600);
    expect(third.meterIntervalMs).toBe(1000);
    expect(third.sqliteSync).toBe('full');
  });

  it('treats an earlier config that is not a JSON object as no earlier export', async () => {
    const outDir = join(dir, 'gw');
    const configPath = join(outDir, 'config.json');
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    writeFileSync(configPath, '[1, 2]', { mode: 0o600 });
    await writeGatewayExport(registry, 'G1', { mqttUrl: 'mqtt://127.0.0.1:1883', outDir });
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(config).toMatchObject({ dataDir: 'data', http: { host: '127.0.0.1', port: 9464 } });
    expect(config['0']).toBeUndefined();
    expect(loadGatewayConfig(configPath).config.piles).toHaveLength(1);
  });
});
