/**
 * A benchmark system on loopback: a registry with one gateway, N piles and M vehicles (made with the cloud's
 * own registry API), the real broker (aedes `broker/main.ts`, or Debian's Mosquitto with the cloud's
 * `export-mosquitto` config) and the real gateway process `pile-gateway/main.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRegistry, type Registry } from '../../cloud/index.js';
import {
  brokerNode,
  exportGatewayConfig,
  gatewayNode,
  MOSQUITTO_BINARIES,
  mosquittoBroker,
  READY,
  startBrokerService,
} from '../../scripts/system.js';
import type { WorkerPile, WorkerVehicle } from '../loadgen/messages.js';
import { benchLaunch, benchService, type ChildService, freePort, type ServiceOptions } from './processes.js';

export type BrokerKind = 'aedes' | 'mosquitto';
export const MOSQUITTO = MOSQUITTO_BINARIES[0]!;
export const BENCH_GID = 'gw-bench';

export interface Fleet {
  dataDir: string;
  registry: Registry;
  piles: WorkerPile[];
  vehicles: WorkerVehicle[];
}

/** Registers `piles` piles (2 connectors each) on one gateway and `vehicles` vehicles. */
export async function createFleet(options: {
  piles: number;
  vehicles: number;
  baseDir?: string;
  /** the registry in this PostgreSQL database instead of <dataDir>/cloud.db */
  databaseUrl?: string;
}): Promise<Fleet> {
  const dataDir = fs.mkdtempSync(path.join(options.baseDir ?? os.tmpdir(), 'evauth-bench-'));
  const registry = await openRegistry(dataDir, { databaseUrl: options.databaseUrl });
  await registry.init();
  await registry.addGateway(BENCH_GID);
  const piles: WorkerPile[] = [];
  const vehicles: WorkerVehicle[] = [];
  const specs = Array.from({ length: options.piles }, (_, i) => ({
    pid: `BP${String(i).padStart(5, '0')}`,
    spec: {
      gid: BENCH_GID,
      site: `Site ${Math.floor(i / 20)}`,
      name: `Bench pile ${i}`,
      address: 'Benchstraße 1',
      lat: 51 + i * 1e-4,
      lon: 6.7,
      connectors: [
        { id: 1, maxW: 150_000 },
        { id: 2, maxW: 150_000 },
      ],
      pricePerKWh: '0.39',
      currency: 'EUR',
    },
  }));
  for (const entry of await registry.addPiles(specs))
    piles.push({ pid: entry.pid, rootKey: entry.rootKey, keyOffset: entry.keyOffset, connectors: [1, 2] });
  for (let i = 0; i < options.vehicles; i++) {
    const vid = `BV${String(i).padStart(5, '0')}`;
    const p = await registry.addVehicle(vid, {
      mqttUrl: 'mqtt://127.0.0.1:1',
      wsUrl: 'ws://127.0.0.1:1/mqtt',
    });
    vehicles.push({ vid, username: p.mqtt.username, password: p.mqtt.password });
  }
  return { dataDir, registry, piles, vehicles };
}

export async function removeFleet(fleet: Fleet): Promise<void> {
  await fleet.registry.close();
  fs.rmSync(fleet.dataDir, { recursive: true, force: true });
}

export interface RunningBroker {
  kind: BrokerKind;
  service: ChildService;
  mqttPort: number;
  url: string;
}

export async function startBrokerProcess(
  fleet: Fleet,
  kind: BrokerKind,
  port?: number,
  /** `brokerArgs`: more flags for the aedes broker (a cluster node's --redis-url) */
  options: ServiceOptions & { name?: string; brokerArgs?: string[] } = {},
): Promise<RunningBroker> {
  const mqttPort = port ?? (await freePort());
  const wsPort = await freePort();
  let service: ChildService;
  if (kind === 'aedes') {
    const { name, brokerArgs, ...serviceOptions } = options;
    service = brokerNode(
      name ?? 'aedes broker',
      {
        dataDir: fleet.dataDir,
        mqttPort,
        wsPort,
        // each load-generator connection carries many simulated cars: lift the per-connection limits
        args: ['--auth-publish-rate', '1000000', '--auth-publish-burst', '1000000', ...(brokerArgs ?? [])],
      },
      benchLaunch(serviceOptions),
    );
  } else {
    // The gateway's login is made by its first export; Mosquitto's logins are fixed at its own export.
    await exportBenchGateway(fleet, `mqtt://127.0.0.1:${mqttPort}`);
    service = await mosquittoBroker({ dataDir: fleet.dataDir, mqttPort, wsPort });
  }
  await startBrokerService(service, kind, mqttPort);
  return { kind, service, mqttPort, url: `mqtt://127.0.0.1:${mqttPort}` };
}

const gatewayDir = (fleet: Fleet) => path.join(fleet.dataDir, 'gateways', BENCH_GID);

export interface GatewayProcess {
  service: ChildService;
  configPath: string;
  /** spawn → "serving piles" (config, keystore, SQLite, MQTT connect, subscriptions, statuses) */
  startupMs: number;
}

/** Writes the bench gateway's config and keystore for `mqttUrl` (the cloud's export); returns the config's path. */
async function exportBenchGateway(fleet: Fleet, mqttUrl: string): Promise<string> {
  const configPath = await exportGatewayConfig(fleet.dataDir, BENCH_GID, {
    mqttUrl,
    outDir: gatewayDir(fleet),
  });
  // A simulated car of the load generator drives several connectors at once (it is no physical car): lift the
  // one-open-session-per-vehicle limit so the figures measure the handshake, not that refusal.
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  config.openSessionsPerVehicle = { pile: 1_000_000, site: 1_000_000 };
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  return configPath;
}

/**
 * The bare pile (bench/loadgen/bare-pile.ts) on the gateway's exported config: the same piles, keys and login,
 * served by the protocol state machines alone. Runs from source under tsx, with the services' node flags.
 */
export async function startBarePileProcess(fleet: Fleet, mqttUrl: string): Promise<GatewayProcess> {
  const configPath = await exportBenchGateway(fleet, mqttUrl);
  const service = benchService('bare pile', 'bench/loadgen/bare-pile.ts', [configPath]);
  const startupMs = await service.start(READY.gateway, 120_000);
  return { service, configPath, startupMs: Math.round(startupMs) };
}

/** Exports the gateway's config for `mqttUrl` and starts it; its data folder can be put elsewhere (tmpfs). */
export async function startGatewayProcess(
  fleet: Fleet,
  mqttUrl: string,
  options: ServiceOptions & {
    dataDir?: string;
    sqliteSync?: 'full' | 'normal';
    readyTimeoutMs?: number;
    /** false: the keystore without the piles' signing keys, so receipts carry no OCMF record (default true) */
    signedReceipts?: boolean;
  } = {},
): Promise<GatewayProcess> {
  const configPath = await exportBenchGateway(fleet, mqttUrl);
  if (options.signedReceipts === false) {
    const keystorePath = path.join(path.dirname(configPath), 'keystore.json');
    const keystore = JSON.parse(fs.readFileSync(keystorePath, 'utf8')) as {
      piles: { signingKey?: string }[];
    };
    for (const pile of keystore.piles) delete pile.signingKey;
    fs.writeFileSync(keystorePath, JSON.stringify(keystore), { mode: 0o600 });
  }
  if (options.dataDir || options.sqliteSync) {
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as {
      dataDir: string;
      sqliteSync?: string;
    };
    if (options.dataDir) config.dataDir = options.dataDir;
    if (options.sqliteSync) config.sqliteSync = options.sqliteSync;
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  }
  const service = gatewayNode(configPath, benchLaunch(options));
  const startupMs = await service.start(READY.gateway, options.readyTimeoutMs ?? 120_000);
  return { service, configPath, startupMs: Math.round(startupMs) };
}
