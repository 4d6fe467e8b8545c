/**
 * Scenario 6: tap to energised through OCPP. One gateway serves `stations` OCPP 2.0.1 piles (one connector each,
 * a cable plugged in) and as many simulator piles; a vehicle authenticates on each in turn, one at a time
 * (unloaded), and the time from its auth.request to the verified auth.result is recorded: on an OCPP pile it
 * includes the station's RequestStartTransaction answer. The difference of the medians is what the OCPP leg adds
 * (target: ≤ 2 ms). RSS per connected station is the gateway process's growth when the stations connect and
 * plug in, divided by their number; the stations run in a process of their own (bench/loadgen/ocpp-stations.ts).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import pino from 'pino';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { startGateway } from '../../pile-gateway/gateway.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  sealedCredentialFor,
  type TestPile,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { testClientId } from '../../tests/support/mqtt.js';
import { startTestBroker } from '../../tests/support/test-broker.js';
import { type LatencySummary, round2, summarize } from '../lib/stats.js';
import type { FromStations, ToStations } from '../loadgen/ocpp-stations.js';

const STATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../loadgen/ocpp-stations.ts');

/** Connects `count` plugged-in stations from their own process; resolves once all are ready. */
async function connectStations(endpoint: string, count: number) {
  const child = fork(STATIONS, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || !child.connected) return resolve();
      child.once('exit', () => resolve());
      child.send({ type: 'close' } satisfies ToStations);
    });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: FromStations) =>
        m.type === 'ready' ? resolve() : reject(new Error(`stations: ${m.message}`)),
      );
      child.once('exit', (code) => reject(new Error(`stations process exited with ${code}`)));
      child.send({ type: 'init', endpoint, count, password: STATION_PASSWORD } satisfies ToStations);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

export interface OcppResult {
  stations: number;
  /** request sent → auth.result verified, OCPP piles */
  ocppMs: LatencySummary;
  /** the same on simulator piles of the same gateway */
  simulatorMs: LatencySummary;
  /** ocpp p50 − simulator p50 (target ≤ 2 ms) */
  addedP50Ms: number;
  rssPerStationKB: number;
  error?: string;
}

const PASSWORD = 'bench-password';
const STATION_PASSWORD = 'bench-station-password';

export async function ocppScenario(options: {
  quick: boolean;
  stations?: number;
  rounds?: number;
  log?: (line: string) => void;
}): Promise<OcppResult> {
  const log = options.log ?? (() => {});
  const count = options.stations ?? (options.quick ? 20 : 100);
  const rounds = options.rounds ?? (options.quick ? 2 : 5);
  const ocppPiles: TestPile[] = Array.from({ length: count }, (_, i) => ({
    ...makePile(`OC${i}`, 1, 22_000),
    charger: { kind: 'ocpp' as const, stationId: `CS${i}`, password: STATION_PASSWORD },
  }));
  const simPiles = Array.from({ length: count }, (_, i) => makePile(`SIM${i}`, 1, 22_000));
  const piles = [...ocppPiles, ...simPiles];
  const broker = await startTestBroker({ password: PASSWORD, piles: piles.map((p) => p.pid) });
  const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  const configPath = writeGatewayFolder(tempDir('bench-ocpp'), {
    gid: 'gw-bench-ocpp',
    mqttUrl: url,
    password: PASSWORD,
    piles,
    meterIntervalMs: 5000,
    ocpp: {},
  });
  const gateway = await startGateway(configPath, { logger: pino({ level: 'silent' }) });
  await gateway.ready;
  let stations: { stop(): Promise<void> } | undefined;
  const provisioning = makeVehicle('bench-ocpp-car', url, PASSWORD);
  const vehicle = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
  const result: OcppResult = {
    stations: count,
    ocppMs: summarize([]),
    simulatorMs: summarize([]),
    addedP50Ms: Number.NaN,
    rssPerStationKB: Number.NaN,
  };
  try {
    const rssBefore = process.memoryUsage().rss;
    stations = await connectStations(`ws://127.0.0.1:${gateway.ocppPort}/ocpp`, count);
    result.rssPerStationKB = round2((process.memoryUsage().rss - rssBefore) / 1024 / count);
    log(`  ${count} stations connected, the gateway's RSS grew ${result.rssPerStationKB} KB each`);

    await vehicle.start();
    const cloud = await mqtt.connectAsync(url, {
      clientId: testClientId('cloud'),
      username: 'cloud',
      password: PASSWORD,
    });
    for (const pile of piles) {
      const sealed = sealedCredentialFor(provisioning, pile);
      await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
    }
    while (vehicle.credentials.size < piles.length) await vehicle.once('credential');
    await cloud.endAsync();

    const measure = async (pid: string): Promise<number> => {
      const at: Record<string, number> = {};
      const outcome = await vehicle.authenticate(pid, 1, {
        onStep: (s) => {
          at[s.step] = performance.now();
        },
      });
      if (!outcome.ok) throw new Error(`${pid}: ${outcome.code} ${outcome.message}`);
      await outcome.session.stop();
      return (at.authorized ?? Number.NaN) - (at['request-sent'] ?? Number.NaN);
    };
    const ocpp: number[] = [];
    const simulator: number[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < count; i++) {
        // Interleaved, so drift in the machine's load touches both alike.
        ocpp.push(await measure(`OC${i}`));
        simulator.push(await measure(`SIM${i}`));
      }
      // The stations' transactions end at the stop; let their last events land before the next round.
      await new Promise((r) => setTimeout(r, 50));
    }
    result.ocppMs = summarize(ocpp);
    result.simulatorMs = summarize(simulator);
    result.addedP50Ms = round2(result.ocppMs.p50 - result.simulatorMs.p50);
    log(
      `  tap → energised p50 ${result.ocppMs.p50} ms, p99 ${result.ocppMs.p99} ms on OCPP; ` +
        `${result.simulatorMs.p50} ms on the simulator: the OCPP leg adds ${result.addedP50Ms} ms (target ≤ 2)`,
    );
  } catch (error) {
    result.error = (error as Error).message;
    log(`  failed: ${result.error}`);
  } finally {
    await vehicle.close();
    await stations?.stop();
    await gateway.close();
    await broker.close();
    removeTempDirs();
  }
  return result;
}
