/** Files the cloud hands out: a gateway's config.json + keystore.json (docs/architecture.md). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import {
  b64uDecode,
  brokerNodes,
  type PileKeystoreEntry,
  parsePileKeystoreEntry,
  signKeyOf,
  usernames,
} from '../shared/index.js';
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

/** The top-level fields every export writes from the registry; the operator's other settings are kept. */
const EXPORTED_FIELDS = new Set(['v', 'gid', 'mqtt', 'keystore', 'http', 'ocpp', 'piles']);

interface EarlierExport {
  password?: unknown;
  token?: unknown;
  /** where the earlier config served HTTP (an operator may open it to the site's network) */
  httpHost?: unknown;
  httpPort?: unknown;
  /** what the operator set by hand in the earlier config (sqliteSync, openSessionsPerVehicle, dataDir, …) */
  settings: Record<string, unknown>;
}

/** What an earlier export wrote in this config file, if any: its MQTT password, operator token and settings. */
function earlierExport(configPath: string): EarlierExport {
  if (!existsSync(configPath)) return { settings: {} };
  try {
    const config: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
    if (typeof config !== 'object' || config === null || Array.isArray(config)) return { settings: {} };
    const { mqtt, http } = config as {
      mqtt?: { password?: unknown };
      http?: { token?: unknown; host?: unknown; port?: unknown };
    };
    const settings = Object.fromEntries(Object.entries(config).filter(([key]) => !EXPORTED_FIELDS.has(key)));
    return {
      password: mqtt?.password,
      token: http?.token,
      httpHost: http?.host,
      httpPort: http?.port,
      settings,
    };
  } catch {
    return { settings: {} };
  }
}

/**
 * The signing keys in an earlier export's keystore by pile. A key the operator made on the pile (the registry has
 * only its public key) is kept from there on re-export, while it is still the pile's registered key.
 */
function exportedSigningKeys(keystorePath: string): Map<string, string> {
  const keys = new Map<string, string>();
  if (!existsSync(keystorePath)) return keys;
  try {
    const piles: unknown = JSON.parse(readFileSync(keystorePath, 'utf8'))?.piles;
    if (!Array.isArray(piles)) return keys;
    for (const value of piles) {
      const entry = parsePileKeystoreEntry(value);
      if (entry.ok && entry.value.signingKey) keys.set(entry.value.pid, entry.value.signingKey);
    }
  } catch {
    // an unreadable earlier keystore keeps nothing
  }
  return keys;
}

/** The signKey of a keystore's signingKey, or undefined for one that is not a P-256 scalar. */
function publicKeyOf(signingKey: string): string | undefined {
  try {
    return signKeyOf(b64uDecode(signingKey));
  } catch {
    return undefined;
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
  const chargers = piles.map((p) => ocppChargerOf(registry.masterKey, p));
  const config = {
    v: 1,
    gid,
    mqtt: { url: nodes.first, ...(nodes.all ? { urls: nodes.all } : {}), username, password },
    keystore: 'keystore.json',
    dataDir: 'data',
    // a re-export keeps the operator's own settings (and dataDir: the session records and receipt count live there)
    ...earlier.settings,
    http: {
      host: typeof earlier.httpHost === 'string' ? earlier.httpHost : '127.0.0.1',
      port: options.httpPort ?? (typeof earlier.httpPort === 'number' ? earlier.httpPort : 9464),
      token: operatorToken(earlier.token),
    },
    meterIntervalMs: options.meterIntervalMs ?? earlier.settings.meterIntervalMs ?? 5000,
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
  const keystorePath = join(options.outDir, 'keystore.json');
  const earlierKeys = exportedSigningKeys(keystorePath);
  const entries = piles.map((p): PileKeystoreEntry => {
    const entry = registry.keystoreEntryOf(p);
    if (entry.signingKey !== undefined) return entry;
    const kept = earlierKeys.get(p.pid);
    return kept !== undefined && publicKeyOf(kept) === p.sign_key ? { ...entry, signingKey: kept } : entry;
  });
  const keystore = { v: 1, piles: entries };
  writeFileSync(keystorePath, `${JSON.stringify(keystore, null, 2)}\n`, {
    mode: 0o600,
  });
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return configPath;
}
