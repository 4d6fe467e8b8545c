/** Idempotent demo data for `npm start`: two sites, six piles (two connectors each), three vehicles, gw-demo. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVehicleProvisioning } from '../shared/index.js';
import { writeGatewayExport } from './export.js';
import { openRegistry } from './registry.js';

export interface DemoSummary {
  dataDir: string;
  /** true when this call created the demo data, false when it reused it */
  created: boolean;
  vehicles: string[];
  piles: string[];
  gateways: string[];
  sites: string[];
  gatewayConfigPath: string;
  provisioningFiles: string[];
}

const GATEWAY = 'gw-demo';
const SITES = [
  {
    site: 'Harbour Hub',
    address: 'Kaistraße 12, Düsseldorf',
    lat: 51.2135,
    lon: 6.7453,
    price: '0.39',
    maxW: 150000,
  },
  {
    site: 'Old Town Garage',
    address: 'Bolkerstraße 3, Düsseldorf',
    lat: 51.2262,
    lon: 6.7737,
    price: '0.45',
    maxW: 22000,
  },
];
const PILES = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'];
const VEHICLES = ['EV-ANNA', 'EV-BEN', 'EV-CARLA'];
/** Every demo ticket caps its session's energy (a large car's battery): no session charges without end. */
const DEMO_MAX_WH = 100_000;

export async function seedDemo(
  dataDir: string,
  options: { mqttUrl: string; wsUrl: string; gatewayHttpPort?: number },
): Promise<DemoSummary> {
  const registry = await openRegistry(dataDir);
  try {
    const created = !(await registry.isInitialised());
    await registry.init();
    if (!(await registry.hasGateway(GATEWAY))) await registry.addGateway(GATEWAY, { name: 'Demo gateway' });
    for (const [i, pid] of PILES.entries()) {
      if (await registry.hasPile(pid)) continue;
      const s = SITES[i < 3 ? 0 : 1]!;
      await registry.addPile(pid, {
        gid: GATEWAY,
        site: s.site,
        name: `${s.site} ${pid}`,
        address: s.address,
        lat: s.lat + i * 0.0003,
        lon: s.lon + i * 0.0003,
        connectors: [
          { id: 1, maxW: s.maxW, kind: i < 3 ? 'CCS2' : 'Type2' },
          { id: 2, maxW: s.maxW, kind: i < 3 ? 'CCS2' : 'Type2' },
        ],
        pricePerKWh: s.price,
        currency: 'EUR',
      });
    }
    const grants: Record<string, { scope: 'all' | 'site' | 'pile'; target?: string; maxWh: number }[]> = {
      'EV-ANNA': [{ scope: 'all', maxWh: DEMO_MAX_WH }],
      'EV-BEN': [
        { scope: 'site', target: SITES[0]!.site, maxWh: DEMO_MAX_WH },
        { scope: 'pile', target: 'P4', maxWh: DEMO_MAX_WH },
      ],
      'EV-CARLA': [
        { scope: 'site', target: SITES[1]!.site, maxWh: DEMO_MAX_WH },
        { scope: 'pile', target: 'P1', maxWh: DEMO_MAX_WH },
      ],
    };
    const provisioningFiles: string[] = [];
    for (const vid of VEHICLES) {
      const path = registry.vehicleProvisioningPath(vid);
      if (!(await registry.hasVehicle(vid))) {
        await registry.addVehicle(vid, { mqttUrl: options.mqttUrl, wsUrl: options.wsUrl, name: vid });
        for (const g of grants[vid] ?? []) await registry.grant(vid, g);
      } else if (existsSync(path)) {
        const parsed = parseVehicleProvisioning(JSON.parse(readFileSync(path, 'utf8')));
        if (
          parsed.ok &&
          (parsed.value.mqtt.url !== options.mqttUrl || parsed.value.mqtt.wsUrl !== options.wsUrl)
        ) {
          registry.writeVehicleProvisioning({
            ...parsed.value,
            mqtt: { ...parsed.value.mqtt, url: options.mqttUrl, wsUrl: options.wsUrl },
          });
        }
      }
      provisioningFiles.push(path);
    }
    const gatewayConfigPath = await writeGatewayExport(registry, GATEWAY, {
      mqttUrl: options.mqttUrl,
      outDir: join(dataDir, 'gateways', GATEWAY),
      ...(options.gatewayHttpPort !== undefined ? { httpPort: options.gatewayHttpPort } : {}),
    });
    return {
      dataDir,
      created,
      vehicles: VEHICLES,
      piles: PILES,
      gateways: [GATEWAY],
      sites: SITES.map((s) => s.site),
      gatewayConfigPath,
      provisioningFiles,
    };
  } finally {
    await registry.close();
  }
}
