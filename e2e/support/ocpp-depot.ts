/**
 * An OCPP pile for the end-to-end tests: pile P8 ("Depot P8") of its own gateway, whose connectors are the EVSEs
 * of an OCPP 2.0.1 station (the test station simulator) that connects to the gateway's OCPP endpoint. The
 * exported gateway config gains the "ocpp" endpoint and the pile's "charger" here, as an operator would write
 * them (docs/gateway.md). Connector 1 has a cable plugged in; connector 2 has none.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportGateway, openRegistry } from '../../cloud/index.js';
import { gatewayNode, READY } from '../../scripts/system.js';
import { TestStation } from '../../tests/support/ocpp-station.js';

export const OCPP_PILE = 'P8';
const OCPP_GATEWAY = 'gw-ocpp';
const STATION = 'DEPOT-CS1';
const STATION_PASSWORD = 'depot-station-password';

export async function startOcppDepot(
  dataDir: string,
  mqttUrl: string,
): Promise<{ station: TestStation; close(): Promise<void> }> {
  const registry = await openRegistry(dataDir);
  try {
    if (!(await registry.hasGateway(OCPP_GATEWAY))) {
      await registry.addGateway(OCPP_GATEWAY, { name: 'OCPP station for the tests' });
      await registry.addPile(OCPP_PILE, {
        gid: OCPP_GATEWAY,
        site: 'Depot',
        name: 'Depot P8',
        address: 'Depot road 8',
        lat: 51.3,
        lon: 6.8,
        connectors: [
          { id: 1, maxW: 22000 },
          { id: 2, maxW: 22000 },
        ],
        pricePerKWh: '0.35',
        currency: 'EUR',
      });
    }
  } finally {
    await registry.close();
  }
  const outDir = join(dataDir, 'gateways', OCPP_GATEWAY);
  await exportGateway(dataDir, OCPP_GATEWAY, { mqttUrl, outDir, httpPort: 0, meterIntervalMs: 500 });
  const configPath = join(outDir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { piles: Record<string, unknown>[] };
  for (const pile of config.piles)
    pile.charger = { kind: 'ocpp', stationId: STATION, password: STATION_PASSWORD };
  writeFileSync(configPath, JSON.stringify({ ...config, ocpp: { host: '127.0.0.1', port: 0 } }, null, 2));
  // Its own gateway process, started as every other (scripts/system.ts).
  const gateway = gatewayNode(configPath, {}, 'gateway ocpp');
  await gateway.start(READY.gateway);
  const ocppPort = Number(/"ocppPort":(\d+)/.exec(gateway.output)?.[1]);
  const station = new TestStation({
    endpoint: `ws://127.0.0.1:${ocppPort}/ocpp`,
    stationId: STATION,
    password: STATION_PASSWORD,
    protocol: 'ocpp2.0.1',
    tickMs: 500,
    whPerTick: 3,
  });
  await station.connect();
  await station.plug(1);
  return {
    station,
    async close() {
      await station.close();
      await gateway.stop();
    },
  };
}
