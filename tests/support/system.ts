/**
 * A whole evauth system for the integration suite, started with scripts/system.ts like every other: the real broker as a child process (login + §9 rights from
 * the registry), the real cloud credential service, the pile gateway as a child process, all on loopback with
 * free ports and a temporary data folder. Vehicles are added by each test. As a cluster: several broker nodes as
 * processes sharing one redis-server, the vehicles listing the nodes from the first, the gateway and the cloud
 * from the second (so a car and its pile meet on different nodes until one fails).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type CloudService, openRegistry, type Registry, startCloudService } from '../../cloud/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import type { ChildService } from '../../node/child-process.js';
import { freePort } from '../../node/child-process.js';
import type { ServiceEntry } from '../../scripts/build-services.js';
import {
  brokerNode,
  exportGatewayConfig,
  gatewayHttpPort,
  gatewayNode,
  mosquittoBroker,
  READY,
  type ServiceLaunch,
  startBrokerService,
} from '../../scripts/system.js';
import type { VehicleProvisioning } from '../../shared/index.js';
import { TestRedis } from './redis.js';

export const GID = 'gw-it';
export const SITE_A = 'Site A';
export const SITE_B = 'Site B';

export interface SystemOptions {
  /** piles on the gateway: pid → site */
  piles?: Record<string, string>;
  meterIntervalMs?: number;
  /** the gateway's signed intermediate readings in its OCMF receipts (config ocmfReadingIntervalMs); default off */
  ocmfReadingIntervalMs?: number;
  cloudNow?: () => number;
  /** how often the cloud re-checks renewals and expiries (default 5 s) */
  cloudReconcileMs?: number;
  /** 'mosquitto': Debian's Mosquitto with the files of `evauth-cloud export-mosquitto` instead of aedes */
  broker?: 'aedes' | 'mosquitto';
  /** vehicles registered before the broker starts (Mosquitto's exported logins are fixed at export) */
  vehicles?: { vid: string; grant: { scope: 'pile' | 'site' | 'all'; target?: string } }[];
  /** run broker and gateway as built by `npm run build:services`, with plain node and the services' flags */
  built?: Map<ServiceEntry, string>;
  /** this many aedes nodes sharing a redis-server (broker/cluster.ts), with a 500 ms heartbeat between them */
  clusterNodes?: number;
}

export class TestSystem {
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-it-'));
  mqttPort = 0;
  wsPort = 0;
  /** every broker node's ports (one node unless a cluster) */
  mqttPorts: number[] = [];
  wsPorts: number[] = [];
  redis?: TestRedis;
  registry!: Registry;
  cloud?: CloudService;
  /** the first broker node */
  broker!: ChildService;
  brokers: ChildService[] = [];
  gateway!: ChildService;
  gatewayHttpPort = 0;
  readonly gatewayDir = path.join(this.dataDir, 'gateways', GID);
  private readonly clients: VehicleClient[] = [];
  readonly provisioned = new Map<string, VehicleProvisioning>();

  constructor(private readonly options: SystemOptions = {}) {}

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  /** The broker nodes' URLs in failover order, starting at node `first`. */
  nodeUrls(kind: 'mqtt' | 'ws', first: number): string[] {
    const urls =
      kind === 'mqtt'
        ? this.mqttPorts.map((p) => `mqtt://127.0.0.1:${p}`)
        : this.wsPorts.map((p) => `ws://127.0.0.1:${p}/mqtt`);
    const at = first % urls.length;
    return [...urls.slice(at), ...urls.slice(0, at)];
  }

  async start(): Promise<this> {
    const nodes = this.options.clusterNodes ?? 1;
    for (let i = 0; i < nodes; i++) {
      this.mqttPorts.push(await freePort());
      this.wsPorts.push(await freePort());
    }
    this.mqttPort = this.mqttPorts[0]!;
    this.wsPort = this.wsPorts[0]!;
    if (this.options.clusterNodes) this.redis = await TestRedis.start();
    this.registry = await openRegistry(this.dataDir);
    await this.registry.init();
    await this.registry.addGateway(GID);
    const piles = this.options.piles ?? { 'IT-P1': SITE_A, 'IT-P2': SITE_A, 'IT-P3': SITE_B };
    for (const [i, [pid, site]] of Object.entries(piles).entries()) {
      await this.registry.addPile(pid, {
        gid: GID,
        site,
        name: `${site} ${pid}`,
        address: 'Teststraße 1',
        lat: 51.2 + i * 0.001,
        lon: 6.7,
        connectors: [
          { id: 1, maxW: 150_000 },
          { id: 2, maxW: 150_000 },
        ],
        pricePerKWh: '0.39',
        currency: 'EUR',
      });
    }
    const gatewayConfig = await exportGatewayConfig(this.dataDir, GID, {
      mqttUrl: this.nodeUrls('mqtt', 1),
      outDir: this.gatewayDir,
      meterIntervalMs: this.options.meterIntervalMs ?? 200,
    });
    if (this.options.ocmfReadingIntervalMs !== undefined) {
      // an option the cloud's export leaves to the operator: added to the exported config as an operator would
      const config = JSON.parse(fs.readFileSync(gatewayConfig, 'utf8'));
      config.ocmfReadingIntervalMs = this.options.ocmfReadingIntervalMs;
      fs.writeFileSync(gatewayConfig, JSON.stringify(config, null, 2), { mode: 0o600 });
    }
    for (const v of this.options.vehicles ?? [])
      this.provisioned.set(v.vid, await this.addVehicle(v.vid, v.grant));
    const launch = this.launch();
    this.brokers =
      this.options.broker === 'mosquitto'
        ? [await mosquittoBroker({ dataDir: this.dataDir, mqttPort: this.mqttPort, wsPort: this.wsPort })]
        : this.mqttPorts.map((port, i) =>
            brokerNode(
              nodes > 1 ? `broker-${i}` : 'broker',
              {
                dataDir: this.dataDir,
                mqttPort: port,
                wsPort: this.wsPorts[i]!,
                ...(this.redis ? { redisUrl: this.redis.url, heartbeatMs: 500 } : {}),
              },
              launch,
            ),
          );
    this.broker = this.brokers[0]!;
    for (let i = 0; i < this.brokers.length; i++) await this.startBroker(i);
    await this.startCloud();
    this.gateway = gatewayNode(gatewayConfig, launch);
    await this.startGateway();
    return this;
  }

  /** Sources under tsx, or the built services when the system runs them (`built`). */
  private launch(): ServiceLaunch {
    return this.options.built ? { built: this.options.built } : {};
  }

  /** Starts (again) broker node `node`, the first by default. */
  async startBroker(node = 0): Promise<void> {
    await startBrokerService(this.brokers[node]!, this.options.broker ?? 'aedes', this.mqttPorts[node]!);
  }

  /** In this process (not cloud/main.ts), so tests can give the cloud their own clock and faster polling. */
  async startCloud(): Promise<void> {
    this.cloud = await startCloudService({
      dataDir: this.dataDir,
      mqttUrl: this.nodeUrls('mqtt', 1),
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 50,
      reconnectPeriodMs: 200,
      mosquittoDynamicSecurity: this.options.broker === 'mosquitto',
      ...(this.options.cloudNow ? { now: this.options.cloudNow } : {}),
      ...(this.options.cloudReconcileMs ? { reconcileIntervalMs: this.options.cloudReconcileMs } : {}),
    });
    await this.cloud.flushed();
  }

  async startGateway(): Promise<void> {
    await this.gateway.start(READY.gateway);
    this.gatewayHttpPort = gatewayHttpPort(this.gateway);
  }

  async addVehicle(
    vid: string,
    grant: { scope: 'pile' | 'site' | 'all'; target?: string },
  ): Promise<VehicleProvisioning> {
    const provisioning = await this.registry.addVehicle(vid, {
      mqttUrl: this.nodeUrls('mqtt', 0),
      wsUrl: this.nodeUrls('ws', 0),
    });
    await this.registry.grant(vid, grant);
    return provisioning;
  }

  provisioningFile(vid: string): string {
    return path.join(this.dataDir, 'provisioning', 'vehicles', `${vid}.json`);
  }

  /** A started VehicleClient, closed with the system. */
  async vehicle(provisioning: VehicleProvisioning, options: { stepTimeoutMs?: number } = {}) {
    const client = new VehicleClient({
      provisioning,
      store: new MemoryCredentialStore(),
      reconnectPeriodMs: 200,
      ...options,
    });
    this.clients.push(client);
    await client.start();
    return client;
  }

  /** Waits until the gateway process has logged a line matching the pattern. */
  async gatewayLogged(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.gateway.output)) {
      if (Date.now() > deadline)
        throw new Error(`gateway never logged ${pattern}:\n${this.gateway.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The gateway's operator token (http.token of its exported config), as its operator reads it. */
  get gatewayToken(): string {
    return JSON.parse(fs.readFileSync(path.join(this.gatewayDir, 'config.json'), 'utf8')).http.token;
  }

  /** An operator action on the gateway (POST /piles/…/connectors/…/plug|unplug|fault|clear), with its token. */
  async gatewayAction(pid: string, connector: number, verb: 'plug' | 'unplug' | 'fault' | 'clear') {
    const response = await fetch(
      `http://127.0.0.1:${this.gatewayHttpPort}/piles/${pid}/connectors/${connector}/${verb}`,
      { method: 'POST', headers: { authorization: `Bearer ${this.gatewayToken}` } },
    );
    if (!response.ok) throw new Error(`gateway ${verb} ${pid}/${connector}: ${response.status}`);
  }

  async gatewayMetrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.gatewayHttpPort}/metrics`)).text();
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => {});
    await this.gateway?.stop();
    await this.cloud?.close();
    for (const broker of this.brokers) await broker.stop();
    await this.redis?.stop();
    await this.registry?.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Waits until the client holds a usable credential for pid (the cloud publishes them retained). */
export async function credentialFor(client: VehicleClient, pid: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!client.usableCredential(pid)) {
    if (Date.now() > deadline) throw new Error(`no credential for ${pid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return client.usableCredential(pid)!;
}
