/** Files the cloud hands out: a gateway's config.json + keystore.json (docs/architecture.md). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import { brokerNodes, usernames } from '../shared/index.js';
import type { Registry } from './registry.js';

export interface GatewayExportOptions {
  /** the broker, or every node of a cluster in order of failover */
  mqttUrl: string | readonly string[];
  outDir: string;
  httpPort?: number;
  meterIntervalMs?: number;
}

/** What an earlier export wrote in this config file, if any: its MQTT password and operator token. */
function earlierExport(configPath: string): { password?: unknown; token?: unknown } {
  if (!existsSync(configPath)) return {};
  try {
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    return { password: config?.mqtt?.password, token: config?.http?.token };
  } catch {
    return {};
  }
}

/** An operator token of an earlier export is kept (a technician's open operator page keeps working). */
function operatorToken(earlier: unknown): string {
  return typeof earlier === 'string' && /^[A-Za-z0-9_-]{32,256}$/.test(earlier)
    ? earlier
    : generatePassword();
}

export async function writeGatewayExport(
  registry: Registry,
  gid: string,
  options: GatewayExportOptions,
): Promise<string> {
  await registry.requireGateway(gid);
  const username = usernames.gateway(gid);
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  const configPath = join(options.outDir, 'config.json');
  // an earlier export's password is kept while it still verifies (re-export must not break a running gateway)
  const earlier = earlierExport(configPath);
  let password = typeof earlier.password === 'string' ? earlier.password : undefined;
  if (!password || !(await registry.verifyMqttPassword(username, password))) {
    password = generatePassword();
    await registry.setMqttPassword(username, password);
    await registry.audit('cli', 'gateway.export', gid, { newPassword: true });
  }
  const nodes = brokerNodes(options.mqttUrl);
  const piles = await registry.store.read((tx) => tx.pilesOfGateway(gid));
  const config = {
    v: 1,
    gid,
    mqtt: { url: nodes.first, ...(nodes.all ? { urls: nodes.all } : {}), username, password },
    keystore: 'keystore.json',
    dataDir: 'data',
    http: { host: '127.0.0.1', port: options.httpPort ?? 9464, token: operatorToken(earlier.token) },
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
  const keystore = { v: 1, piles: piles.map((p) => registry.keystoreEntryOf(p)) };
  writeFileSync(join(options.outDir, 'keystore.json'), `${JSON.stringify(keystore, null, 2)}\n`, {
    mode: 0o600,
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return configPath;
}
