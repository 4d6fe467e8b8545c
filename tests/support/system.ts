/**
 * A whole evauth system for the integration suite: the real broker as a child process (login + §9 rights from
 * the registry), the real cloud credential service, the pile gateway as a child process, all on loopback with
 * free ports and a temporary data folder. Vehicles are added by each test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  type CloudService,
  exportGateway,
  openRegistry,
  type Registry,
  startCloudService,
} from '../../cloud/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { ChildService, freePort, waitForPort } from '../../node/child-process.js';
import { SERVICE_NODE_FLAGS, type ServiceEntry } from '../../scripts/build-services.js';
import type { VehicleProvisioning } from '../../shared/index.js';

export const GID = 'gw-it';
export const SITE_A = 'Site A';
export const SITE_B = 'Site B';

export interface SystemOptions {
  /** piles on the gateway: pid → site */
  piles?: Record<string, string>;
  meterIntervalMs?: number;
  cloudNow?: () => number;
  /** how often the cloud re-checks renewals and expiries (default 5 s) */
  cloudReconcileMs?: number;
  /** 'mosquitto': Debian's Mosquitto with the files of `evauth-cloud export-mosquitto` instead of aedes */
  broker?: 'aedes' | 'mosquitto';
  /** vehicles registered before the broker starts (Mosquitto's exported logins are fixed at export) */
  vehicles?: { vid: string; grant: { scope: 'pile' | 'site' | 'all'; target?: string } }[];
  /** run broker and gateway as built by `npm run build:services`, with plain node and the services' flags */
  built?: Map<ServiceEntry, string>;
}

export class TestSystem {
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evauth-it-'));
  mqttPort = 0;
  wsPort = 0;
  registry!: Registry;
  cloud?: CloudService;
  broker!: ChildService;
  gateway!: ChildService;
  gatewayHttpPort = 0;
  readonly gatewayDir = path.join(this.dataDir, 'gateways', GID);
  private readonly clients: VehicleClient[] = [];
  readonly provisioned = new Map<string, VehicleProvisioning>();

  constructor(private readonly options: SystemOptions = {}) {}

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  async start(): Promise<this> {
    this.mqttPort = await freePort();
    this.wsPort = await freePort();
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
    await exportGateway(this.dataDir, GID, {
      mqttUrl: this.mqttUrl,
      outDir: this.gatewayDir,
      httpPort: 0,
      meterIntervalMs: this.options.meterIntervalMs ?? 200,
    });
    for (const v of this.options.vehicles ?? [])
      this.provisioned.set(v.vid, await this.addVehicle(v.vid, v.grant));
    this.broker =
      this.options.broker === 'mosquitto'
        ? await this.mosquitto()
        : this.nodeService('broker', 'broker/main.ts', [
            '--data',
            this.dataDir,
            '--mqtt-port',
            String(this.mqttPort),
            '--ws-port',
            String(this.wsPort),
          ]);
    await this.startBroker();
    await this.startCloud();
    this.gateway = this.nodeService('gateway', 'pile-gateway/main.ts', [
      path.join(this.gatewayDir, 'config.json'),
    ]);
    await this.startGateway();
    return this;
  }

  /** A service from its TypeScript source under tsx, or its built file when the system runs built services. */
  private nodeService(name: string, entry: ServiceEntry, args: string[]): ChildService {
    const built = this.options.built?.get(entry);
    return ChildService.node(name, entry, args, {
      env: { LOG_LEVEL: 'info' },
      ...(built ? { builtFile: built, nodeArgs: SERVICE_NODE_FLAGS } : {}),
    });
  }

  /** Exports the registry for Mosquitto with the admin CLI and returns the Mosquitto service. */
  private async mosquitto(): Promise<ChildService> {
    const dir = path.join(this.dataDir, 'mosquitto');
    // Running as root, Mosquitto would otherwise drop to an account that cannot read the private data folder.
    const runAs = process.getuid?.() === 0 ? ['--run-as', 'root'] : [];
    const exporter = ChildService.node('export-mosquitto', 'cloud/cli.ts', [
      '--data',
      this.dataDir,
      'export-mosquitto',
      dir,
      '--mqtt-port',
      String(this.mqttPort),
      '--ws-port',
      String(this.wsPort),
      ...runAs,
    ]);
    await exporter.start(() => fs.existsSync(path.join(dir, 'mosquitto.conf')));
    await exporter.stop();
    const binary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => fs.existsSync(p));
    if (!binary) throw new Error('mosquitto is not installed (apt-get install -y mosquitto)');
    return new ChildService('mosquitto', binary, ['-c', path.join(dir, 'mosquitto.conf')]);
  }

  async startBroker(): Promise<void> {
    if (this.options.broker === 'mosquitto') {
      await this.broker.start(() => true);
      await waitForPort(this.mqttPort, 15_000, this.broker);
    } else {
      await this.broker.start((out) => out.includes('"msg":"broker listening"'));
    }
  }

  async startCloud(): Promise<void> {
    this.cloud = await startCloudService({
      dataDir: this.dataDir,
      mqttUrl: this.mqttUrl,
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 50,
      reconnectPeriodMs: 200,
      ...(this.options.cloudNow ? { now: this.options.cloudNow } : {}),
      ...(this.options.cloudReconcileMs ? { reconcileIntervalMs: this.options.cloudReconcileMs } : {}),
    });
    await this.cloud.flushed();
  }

  async startGateway(): Promise<void> {
    await this.gateway.start((out) => out.includes('"msg":"serving piles"'));
    const match = /"httpPort":(\d+)/.exec(this.gateway.output);
    this.gatewayHttpPort = Number(match?.[1]);
  }

  async addVehicle(
    vid: string,
    grant: { scope: 'pile' | 'site' | 'all'; target?: string },
  ): Promise<VehicleProvisioning> {
    const provisioning = await this.registry.addVehicle(vid, {
      mqttUrl: this.mqttUrl,
      wsUrl: `ws://127.0.0.1:${this.wsPort}/mqtt`,
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

  async gatewayMetrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.gatewayHttpPort}/metrics`)).text();
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => {});
    await this.gateway?.stop();
    await this.cloud?.close();
    await this.broker?.stop();
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
