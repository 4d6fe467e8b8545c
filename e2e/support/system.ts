/**
 * The whole evauth system for the end-to-end tests, started as `npm start` starts it (scripts/system.ts): broker
 * (TCP + WebSocket) on free ports, the demo seed, the cloud credential service and the demo gateway as processes,
 * and the head-unit server with the dev picker (loopback, its own origin only). Added for the tests: a counterfeit pile P9 ("Roadside P9") on its gateway's login
 * without the pile's root key (./counterfeit-pile.ts), which records what reaches it, to prove no auth.response
 * ever does.
 */
import { join } from 'node:path';
import { exportGateway, openRegistry } from '../../cloud/index.js';
import { startHeadUnitServer } from '../../head-unit/server.js';
import { startDemoSystem } from '../../scripts/system.js';
import { b64uEncode, secureRandom, topics } from '../../shared/index.js';
import { startCounterfeitPile } from './counterfeit-pile.js';
import { startOcppDepot } from './ocpp-depot.js';

export const COUNTERFEIT_PILE = 'P9';
const ROGUE_GATEWAY = 'gw-rogue';
const DEMO_GATEWAY = 'gw-demo';

export interface RunningSystem {
  headUnitUrl: string;
  /** the demo gateway's operator page, and its token (http.token of its config) */
  operatorUrl: string;
  operatorToken: string;
  mqttUrl: string;
  wsUrl: string;
  dataDir: string;
  /** auth messages seen on the counterfeit pile's topic, by type */
  spied(): string[];
  /** stops the broker, waits `downMs`, starts it again on the same ports */
  restartBroker(downMs: number): Promise<void>;
  revokeGrants(vid: string, pid: string): Promise<number>;
  /** publishes a session.meter with a wrong MAC to the vehicle, as any gateway login could */
  forgeMeter(vid: string, sid: string): Promise<void>;
  /** the cloud credential service down (the vehicle has lost its cloud) and up again */
  stopCloud(): Promise<void>;
  startCloud(): Promise<void>;
  close(): Promise<void>;
}

async function makeCounterfeit(dataDir: string, mqttUrl: string): Promise<string> {
  const registry = await openRegistry(dataDir);
  try {
    if (!(await registry.hasGateway(ROGUE_GATEWAY))) {
      await registry.addGateway(ROGUE_GATEWAY, { name: 'Counterfeit pile for the tests' });
      await registry.addPile(COUNTERFEIT_PILE, {
        gid: ROGUE_GATEWAY,
        site: 'Roadside',
        name: 'Roadside P9',
        address: 'B1 lay-by',
        lat: 51.2,
        lon: 6.7,
        connectors: [{ id: 1, maxW: 50000 }],
        pricePerKWh: '0.29',
        currency: 'EUR',
      });
    }
  } finally {
    await registry.close();
  }
  const outDir = join(dataDir, 'gateways', ROGUE_GATEWAY);
  await exportGateway(dataDir, ROGUE_GATEWAY, { mqttUrl, outDir, httpPort: 0, meterIntervalMs: 500 });
  return join(outDir, 'config.json');
}

export async function startSystem(dataDir: string): Promise<RunningSystem> {
  const host = '127.0.0.1';
  // Broker, cloud and the demo gateway as processes, as `npm start` runs them (scripts/system.ts).
  const system = await startDemoSystem({
    dataDir,
    host,
    ports: { mqtt: 0, ws: 0, gatewayHttp: 0 },
    meterIntervalMs: 500,
  });
  const { mqttUrl, wsUrl } = system;
  const registry = await openRegistry(dataDir);
  const rogueConfig = await makeCounterfeit(dataDir, mqttUrl);
  const depot = await startOcppDepot(dataDir, mqttUrl);
  const counterfeit = await startCounterfeitPile(rogueConfig, COUNTERFEIT_PILE);
  const headUnit = await startHeadUnitServer({ host, port: 0, dataDir, devPicker: true });

  const demoGateway = system.gateways.find((g) => g.gid === DEMO_GATEWAY);
  if (!demoGateway) throw new Error(`the demo system has no gateway ${DEMO_GATEWAY}`);
  return {
    headUnitUrl: headUnit.url,
    operatorUrl: `${demoGateway.httpUrl}/operator/`,
    operatorToken: demoGateway.operatorToken,
    mqttUrl,
    wsUrl,
    dataDir,
    spied: () => [...counterfeit.seen],
    restartBroker: (downMs) => system.restartBroker(downMs),
    async forgeMeter(vid, sid) {
      const body = JSON.stringify({
        ts: Math.floor(Date.now() / 1000),
        wh: 999_999,
        w: 1,
        state: 'charging',
      });
      const meter = {
        v: 1,
        type: 'session.meter',
        sid,
        seq: 4_000_000_000,
        body,
        mac: b64uEncode(secureRandom(32)),
      };
      await counterfeit.client.publishAsync(topics.vehicleSession(vid), JSON.stringify(meter), { qos: 1 });
    },
    stopCloud: () => system.stopCloud(),
    startCloud: () => system.startCloud(),
    revokeGrants(vid, pid) {
      return registry.revokeGrantsCovering(vid, pid);
    },
    async close() {
      await headUnit.close();
      counterfeit.close();
      await depot.close();
      await system.close();
      await registry.close();
    },
  };
}
