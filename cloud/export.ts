/** Files the cloud hands out: a gateway's config.json + keystore.json (docs/architecture.md). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import { brokerNodes, usernames } from '../shared/index.js';
import { type OcppEndpointOptions, ocppChargerOf, ocppEndpointConfig } from './ocpp-stations.js';
import type { Registry } from './registry.js';

export interface GatewayExportOptions {
  /** the broker, or every node of a cluster in order of failover */
  mqttUrl: string | readonly string[];
  outDir: string;
  httpPort?: number;
  meterIntervalMs?: number;
  /** the OCPP endpoint for the gateway's stations (written anyway, with defaults, when it has OCPP piles) */
  ocpp?: OcppEndpointOptions;
}

/** The password of an earlier export in this config file, if any. */
function exportedPassword(configPath: string): string | undefined {
  if (!existsSync(configPath)) return undefined;
  try {
    const password = JSON.parse(readFileSync(configPath, 'utf8'))?.mqtt?.password;
    return typeof password === 'string' ? password : undefined;
  } catch {
    return undefined;
  }
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
  let password = exportedPassword(configPath);
  if (!password || !(await registry.verifyMqttPassword(username, password))) {
    password = generatePassword();
    await registry.setMqttPassword(username, password);
    await registry.audit('cli', 'gateway.export', gid, { newPassword: true });
  }
  const nodes = brokerNodes(options.mqttUrl);
  const piles = await registry.store.read((tx) => tx.pilesOfGateway(gid));
  const chargers = piles.map((p) => ocppChargerOf(registry.masterKey, p));
  const config = {
    v: 1,
    gid,
    mqtt: { url: nodes.first, ...(nodes.all ? { urls: nodes.all } : {}), username, password },
    keystore: 'keystore.json',
    dataDir: 'data',
    http: { host: '127.0.0.1', port: options.httpPort ?? 9464 },
    meterIntervalMs: options.meterIntervalMs ?? 5000,
    ...ocppEndpointConfig(options.ocpp, chargers.some(Boolean)),
    piles: piles.map((p, i) => ({
      pid: p.pid,
      connectors: (JSON.parse(p.connectors) as { id: number; maxW: number }[]).map((c) => ({
        id: c.id,
        maxW: c.maxW,
      })),
      tariff: { pricePerKWh: p.price_per_kwh, currency: p.currency },
      ...(chargers[i] ? { charger: chargers[i] } : {}),
    })),
  };
  const keystore = { v: 1, piles: piles.map((p) => registry.keystoreEntryOf(p)) };
  writeFileSync(join(options.outDir, 'keystore.json'), `${JSON.stringify(keystore, null, 2)}\n`, {
    mode: 0o600,
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return configPath;
}
