/** Files the cloud hands out: a gateway's config.json + keystore.json (docs/architecture.md). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import { brokerNodes, usernames } from '../shared/index.js';
import type { PileRow, Registry } from './registry.js';

export interface GatewayExportOptions {
  /** the broker, or every node of a cluster in order of failover */
  mqttUrl: string | readonly string[];
  outDir: string;
  httpPort?: number;
  meterIntervalMs?: number;
}

/** The password in an earlier export of this gateway, if it still verifies (re-export must not break it). */
function previousPassword(registry: Registry, configPath: string, username: string): string | undefined {
  if (!existsSync(configPath)) return undefined;
  try {
    const password = JSON.parse(readFileSync(configPath, 'utf8'))?.mqtt?.password;
    return typeof password === 'string' && registry.verifyMqttPassword(username, password)
      ? password
      : undefined;
  } catch {
    return undefined;
  }
}

export function writeGatewayExport(registry: Registry, gid: string, options: GatewayExportOptions): string {
  registry.requireGateway(gid);
  const username = usernames.gateway(gid);
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  const configPath = join(options.outDir, 'config.json');
  let password = previousPassword(registry, configPath, username);
  if (!password) {
    password = generatePassword();
    registry.setMqttPassword(username, password);
    registry.audit('cli', 'gateway.export', gid, { newPassword: true });
  }
  const nodes = brokerNodes(options.mqttUrl);
  const piles = registry.db.prepare('SELECT * FROM piles WHERE gid = ? ORDER BY pid').all(gid) as PileRow[];
  const config = {
    v: 1,
    gid,
    mqtt: { url: nodes.first, ...(nodes.all ? { urls: nodes.all } : {}), username, password },
    keystore: 'keystore.json',
    dataDir: 'data',
    http: { host: '127.0.0.1', port: options.httpPort ?? 9464 },
    meterIntervalMs: options.meterIntervalMs ?? 5000,
    piles: piles.map((p) => ({
      pid: p.pid,
      connectors: (JSON.parse(p.connectors) as { id: number; maxW: number }[]).map((c) => ({
        id: c.id,
        maxW: c.maxW,
      })),
      tariff: { pricePerKWh: p.price_per_kwh, currency: p.currency },
    })),
  };
  const keystore = { v: 1, piles: piles.map((p) => registry.keystoreEntry(p.pid)) };
  writeFileSync(join(options.outDir, 'keystore.json'), `${JSON.stringify(keystore, null, 2)}\n`, {
    mode: 0o600,
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return configPath;
}
