/**
 * The one way evauth's services are started together. `npm start` (scripts/start.ts), the integration tests
 * (tests/support/system.ts), the end-to-end tests (e2e/support/system.ts) and the benchmarks
 * (bench/lib/system.ts) all start the same processes from here, as an operator runs them: each broker node
 * (`broker/main.ts`, or Debian's Mosquitto with the cloud's `export-mosquitto` files), the cloud credential
 * service (`cloud/main.ts`) and each pile gateway (`pile-gateway/main.ts`, on the config `evauth-cloud gateway
 * export` writes). Only the head unit's static server runs in the caller's process. Those callers differ only in
 * what they add (a counterfeit pile, load generators, a fake clock for the cloud).
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportGateway, seedDemo } from '../cloud/index.js';
import { ChildService, freePort, waitForPort } from '../node/child-process.js';
import { ensureOperatorPageBuilt } from '../pile-gateway/operator-build.js';
import { SERVICE_NODE_FLAGS, type ServiceEntry } from './build-services.js';

/** How a Node service is launched: its built file (`npm run build:services`) when given, else its source. */
export interface ServiceLaunch {
  built?: ReadonlyMap<ServiceEntry, string>;
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** What each service prints once it serves (pino JSON lines). */
export const READY = {
  broker: (out: string) => out.includes('"msg":"broker listening"'),
  cloud: (out: string) => out.includes('"msg":"cloud connected to broker"'),
  gateway: (out: string) => out.includes('"msg":"serving piles"'),
} as const;

export const MOSQUITTO_BINARIES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

/** A Node service of the repository: its built file with the services' flags when built, else tsx. */
export function evauthService(
  name: string,
  entry: ServiceEntry,
  args: readonly string[],
  launch: ServiceLaunch = {},
): ChildService {
  const built = launch.built?.get(entry);
  return ChildService.node(name, entry, args, {
    env: { LOG_LEVEL: 'info', ...launch.env },
    nodeArgs: [...SERVICE_NODE_FLAGS, ...(launch.nodeArgs ?? [])],
    ...(built ? { builtFile: built } : {}),
  });
}

export interface BrokerNodeOptions {
  dataDir: string;
  host?: string;
  mqttPort: number;
  wsPort?: number;
  /** a node of a cluster sharing this Redis (broker/cluster.ts) */
  redisUrl?: string;
  heartbeatMs?: number;
  /** more flags, e.g. the bench's lifted per-connection limits */
  args?: string[];
}

/** One aedes broker node on the registry's login view. */
export function brokerNode(
  name: string,
  options: BrokerNodeOptions,
  launch: ServiceLaunch = {},
): ChildService {
  return evauthService(
    name,
    'broker/main.ts',
    [
      ...['--data', options.dataDir, '--host', options.host ?? '127.0.0.1'],
      ...['--mqtt-port', String(options.mqttPort)],
      ...(options.wsPort !== undefined ? ['--ws-port', String(options.wsPort)] : []),
      ...(options.redisUrl ? ['--redis-url', options.redisUrl] : []),
      ...(options.redisUrl && options.heartbeatMs
        ? ['--cluster-heartbeat-ms', String(options.heartbeatMs)]
        : []),
      ...(options.args ?? []),
    ],
    launch,
  );
}

/**
 * Debian's Mosquitto on the files `evauth-cloud export-mosquitto` writes from the registry now (its logins are
 * fixed at export, as for an operator: export again after adding vehicles).
 */
export async function mosquittoBroker(options: {
  dataDir: string;
  mqttPort: number;
  wsPort: number;
}): Promise<ChildService> {
  const dir = path.join(options.dataDir, 'mosquitto');
  // Running as root, Mosquitto would otherwise drop to an account that cannot read the private data folder.
  const runAs = process.getuid?.() === 0 ? ['--run-as', 'root'] : [];
  const exporter = ChildService.node('export-mosquitto', 'cloud/cli.ts', [
    ...['--data', options.dataDir, 'export-mosquitto', dir],
    ...['--mqtt-port', String(options.mqttPort), '--ws-port', String(options.wsPort)],
    ...runAs,
  ]);
  await exporter.start();
  if ((await exporter.waitForExit()) !== 0)
    throw new Error(`export-mosquitto failed:\n${exporter.output.slice(-2000)}`);
  const binary = MOSQUITTO_BINARIES.find((p) => fs.existsSync(p));
  if (!binary) throw new Error('mosquitto is not installed (apt-get install -y mosquitto)');
  return new ChildService('mosquitto', binary, ['-c', path.join(dir, 'mosquitto.conf')]);
}

/** Starts a broker service (again) and waits until it serves. */
export async function startBrokerService(
  service: ChildService,
  kind: 'aedes' | 'mosquitto',
  mqttPort: number,
  timeoutMs = 30_000,
): Promise<number> {
  if (kind === 'aedes') return service.start(READY.broker, timeoutMs);
  const ms = await service.start(() => true, timeoutMs);
  await waitForPort(mqttPort, 15_000, service);
  return ms;
}

/** The cloud credential service on the registry in dataDir, connecting to the broker nodes in order. */
export function cloudNode(
  dataDir: string,
  mqttUrls: readonly string[],
  launch: ServiceLaunch = {},
  args: string[] = [],
): ChildService {
  return evauthService(
    'cloud',
    'cloud/main.ts',
    ['--data', dataDir, '--mqtt-url', mqttUrls.join(','), ...args],
    launch,
  );
}

export interface GatewayExport {
  /** the broker, or every node of a cluster in failover order */
  mqttUrl: string | readonly string[];
  /** default <dataDir>/gateways/<gid> */
  outDir?: string;
  /** 0: any free port */
  httpPort?: number;
  meterIntervalMs?: number;
}

/** Writes gateway gid's config and keystore as `evauth-cloud gateway export` does; returns the config's path. */
export async function exportGatewayConfig(
  dataDir: string,
  gid: string,
  options: GatewayExport,
): Promise<string> {
  const outDir = options.outDir ?? path.join(dataDir, 'gateways', gid);
  await exportGateway(dataDir, gid, {
    mqttUrl: options.mqttUrl,
    outDir,
    httpPort: options.httpPort ?? 0,
    ...(options.meterIntervalMs !== undefined ? { meterIntervalMs: options.meterIntervalMs } : {}),
  });
  return path.join(outDir, 'config.json');
}

/** A pile gateway process on an exported config. */
export function gatewayNode(configPath: string, launch: ServiceLaunch = {}, name = 'gateway'): ChildService {
  return evauthService(name, 'pile-gateway/main.ts', [configPath], launch);
}

/** The HTTP port a started gateway logged (its config may say 0: any free port). */
export function gatewayHttpPort(gateway: ChildService): number {
  const match = /"httpPort":(\d+)/.exec(gateway.output);
  if (!match) throw new Error(`${gateway.name} has not logged its HTTP port`);
  return Number(match[1]);
}

/** Ports of the demo system; 0 picks a free one. */
export interface DemoPorts {
  mqtt: number;
  ws: number;
  gatewayHttp: number;
}

export interface DemoSystem {
  mqttUrl: string;
  wsUrl: string;
  created: boolean;
  broker: ChildService;
  cloud: ChildService;
  /** operatorToken: its config's http.token, which the operator page at `${httpUrl}/operator/` asks for */
  gateways: { gid: string; service: ChildService; httpUrl: string; operatorToken: string }[];
  /** stops the broker, waits `downMs`, starts it again on the same ports */
  restartBroker(downMs: number): Promise<void>;
  stopCloud(): Promise<void>;
  startCloud(): Promise<void>;
  /** stops every service, last started first */
  close(): Promise<void>;
}

/**
 * The demo system in dataDir: seeds it on first use (idempotent), then starts the broker, the cloud and every
 * demo gateway as processes. `npm start` and the end-to-end tests run this.
 */
export async function startDemoSystem(options: {
  dataDir: string;
  host?: string;
  ports: DemoPorts;
  meterIntervalMs?: number;
  launch?: ServiceLaunch;
}): Promise<DemoSystem> {
  const host = options.host ?? '127.0.0.1';
  const launch = options.launch ?? {};
  const mqttPort = options.ports.mqtt || (await freePort());
  const wsPort = options.ports.ws || (await freePort());
  const mqttUrl = `mqtt://${host}:${mqttPort}`;
  const wsUrl = `ws://${host}:${wsPort}/mqtt`;
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // Idempotent: creates the demo on first run, refreshes broker URLs in the provisioning files afterwards.
  const demo = await seedDemo(options.dataDir, {
    mqttUrl,
    wsUrl,
    gatewayHttpPort: options.ports.gatewayHttp,
  });

  const started: ChildService[] = [];
  const close = async () => {
    for (const service of [...started].reverse()) await service.stop().catch(() => {});
  };
  // The gateways serve their operator page from its build (pile-gateway/operator-build.ts), read per request:
  // built (when its sources changed) while the services start.
  const pageBuilt = ensureOperatorPageBuilt();
  pageBuilt.catch(() => {});
  try {
    const broker = brokerNode('broker', { dataDir: options.dataDir, host, mqttPort, wsPort }, launch);
    started.push(broker);
    await startBrokerService(broker, 'aedes', mqttPort);
    // The cloud and the gateways need only the broker: they start side by side.
    const cloud = cloudNode(options.dataDir, [mqttUrl], launch);
    started.push(cloud);
    const gateways: DemoSystem['gateways'] = [];
    const startGateway = async (gid: string) => {
      const configPath = await exportGatewayConfig(options.dataDir, gid, {
        mqttUrl,
        httpPort: options.ports.gatewayHttp,
        // A reading every second makes the demo lively; the protocol asks for at least one per 5 s.
        meterIntervalMs: options.meterIntervalMs ?? 1000,
      });
      const service = gatewayNode(configPath, launch, `gateway ${gid}`);
      started.push(service);
      await service.start(READY.gateway);
      const operatorToken = JSON.parse(fs.readFileSync(configPath, 'utf8')).http.token as string;
      gateways.push({ gid, service, httpUrl: `http://${host}:${gatewayHttpPort(service)}`, operatorToken });
    };
    await Promise.all([cloud.start(READY.cloud), ...demo.gateways.map(startGateway), pageBuilt]);
    gateways.sort((a, b) => a.gid.localeCompare(b.gid));
    return {
      mqttUrl,
      wsUrl,
      created: demo.created,
      broker,
      cloud,
      gateways,
      async restartBroker(downMs) {
        await broker.stop();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        await startBrokerService(broker, 'aedes', mqttPort);
      },
      async stopCloud() {
        await cloud.stop();
      },
      async startCloud() {
        if (!cloud.running) await cloud.start(READY.cloud);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
