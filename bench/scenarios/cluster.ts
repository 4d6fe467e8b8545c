/**
 * Scenario 7: past one machine (`--only cluster`). The real broker as one process, then as two cluster nodes
 * sharing a redis-server (broker/cluster.ts), with the real gateway process and the cloud service:
 *  - the handshake (auth.request sent → auth.result verified, one at a time) on one broker, on one cluster node
 *    (the car and the gateway on the same node: every message still goes through Redis), and across nodes (the
 *    car on node 0, the gateway on node 1): what the cluster hop costs;
 *  - a car's retained credentials delivered with 10,000 and 100,000 credentials in Redis, against upstream
 *    aedes-persistence-redis on the same data, and Redis memory per credential (cluster-retained.ts);
 *  - a node's memory per connected car, Redis memory per car, and what a head unit pulls at connect;
 *  - from these, on paper: cars per node and the nodes and Redis for 1,000,000 cars and 100,000 piles;
 *  - credential issuance: one cloud instance on SQLite vs two sharing PostgreSQL (cluster-issuance.ts).
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { startCloudService } from '../../cloud/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { makePile, makeVehicle, sealedCredentialFor } from '../../pile-gateway/testkit.js';
import { parseVehicleProvisioning, topics } from '../../shared/index.js';
import { TestRedis } from '../../tests/support/redis.js';
import { loadavg } from '../lib/machine.js';
import { type LatencySummary, round2, summarize } from '../lib/stats.js';
import {
  createFleet,
  type Fleet,
  type RunningBroker,
  removeFleet,
  startBrokerProcess,
  startGatewayProcess,
} from '../lib/system.js';
import { type ClusterIssuanceResult, clusterIssuanceScenario } from './cluster-issuance.js';
import {
  type FleetMeasures,
  measureFleet,
  measureRetained,
  type RetainedResult,
  retainedPayload,
} from './cluster-retained.js';

export interface ClusterPaper {
  /** the RSS a node may use, an assumption */
  nodeBudgetMB: number;
  carsPerNode: number;
  /** for 1,000,000 cars with one node to spare (its cars move to the others when it dies) */
  nodesForMillionCars: number;
  /** Redis for 1,000,000 cars with 10 credentials each and their channels, and 100,000 piles' retained */
  redisGB: number;
  /** a head unit's connect with 100,000 piles, scaled from the measured one */
  headUnitConnectAt100kPiles: { messages: number; MB: number; seconds: number };
  /** a node dies: its cars reconnect elsewhere, each pulling a head unit's connect at 100,000 piles */
  nodeDeath: { cars: number; messages: number; nodeHoursAtMeasuredRate: number };
}

export interface ClusterResult {
  handshakes: number;
  handshakeMs: { oneBroker: LatencySummary; oneNode: LatencySummary; acrossNodes: LatencySummary };
  /** acrossNodes − oneBroker */
  hopP50Ms: number;
  hopP99Ms: number;
  retained?: RetainedResult;
  fleet?: FleetMeasures;
  paper?: ClusterPaper;
  /** issuance/s: two cloud instances on PostgreSQL vs one on SQLite (cluster-issuance.ts) */
  issuance?: ClusterIssuanceResult;
  loadavg1: number;
  error?: string;
}

const silent = pino({ level: 'silent' });
const empty = summarize([]);

/** Sequential handshakes at the fleet's piles; each session is stopped before the next. */
async function handshakes(vehicle: VehicleClient, pids: string[], count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const pid = pids[i % pids.length]!;
    const at: Record<string, number> = {};
    const outcome = await vehicle.authenticate(pid, 1, {
      onStep: (s) => {
        at[s.step] = performance.now();
      },
    });
    if (!outcome.ok) throw new Error(`${pid}: ${outcome.code} ${outcome.message}`);
    samples.push((at.authorized ?? Number.NaN) - (at['request-sent'] ?? Number.NaN));
    await outcome.session.stop();
  }
  return samples;
}

/** The gateway and the cloud on `serverUrl`, the car on `carUrl`: `count` timed handshakes after a warm-up. */
async function handshakeRun(fleet: Fleet, serverUrl: string, carUrl: string, count: number) {
  const gateway = await startGatewayProcess(fleet, serverUrl);
  const cloud = await startCloudService({ dataDir: fleet.dataDir, mqttUrl: serverUrl, logger: silent });
  const car = fleet.vehicles[0]!;
  const provisioning = parseVehicleProvisioning(
    JSON.parse(readFileSync(fleet.registry.vehicleProvisioningPath(car.vid), 'utf8')),
  );
  if (!provisioning.ok) throw new Error(provisioning.message);
  const vehicle = new VehicleClient({
    provisioning: provisioning.value,
    mqttUrl: carUrl,
    store: new MemoryCredentialStore(),
  });
  try {
    await cloud.flushed();
    await vehicle.start();
    const pids = fleet.piles.map((p) => p.pid);
    while (pids.some((pid) => !vehicle.usableCredential(pid))) await vehicle.once('credential');
    await handshakes(vehicle, pids, Math.min(20, count));
    return summarize(await handshakes(vehicle, pids, count));
  } finally {
    await vehicle.close();
    await cloud.close();
    await gateway.service.stop();
  }
}

/** A sealed credential as the cloud publishes it (its size is what Redis holds per credential). */
function sampleCredential(): Buffer {
  const credential = sealedCredentialFor(
    makeVehicle('SAMPLE-V1', 'mqtt://127.0.0.1:1', 'x'),
    makePile('SAMPLE-P1'),
  );
  return Buffer.from(credential.payload);
}

/** The fleet on paper, each figure from a measurement above (the assumptions are the constants here). */
export function onPaper(retained: RetainedResult, fleet: FleetMeasures): ClusterPaper {
  const nodeBudgetMB = 2048;
  const cars = 1_000_000;
  const piles = 100_000;
  const credentialsPerCar = 10;
  const carsPerNode = Math.floor((nodeBudgetMB * 1024) / fleet.nodeRssPerCarKB);
  const perPile = fleet.connect.messages / (2 * fleet.connect.piles);
  const scale = piles / fleet.connect.piles;
  const redisBytes =
    cars * credentialsPerCar * retained.redisBytesPerCredential +
    cars * fleet.redisBytesPerCarChannel +
    2 * piles * retained.redisBytesPerCredential; // directory + status: about a credential's size each
  const connectSeconds = (fleet.connect.ms * scale) / 1000;
  return {
    nodeBudgetMB,
    carsPerNode,
    nodesForMillionCars: Math.ceil(cars / carsPerNode) + 1,
    redisGB: round2(redisBytes / 2 ** 30),
    headUnitConnectAt100kPiles: {
      messages: Math.round(2 * piles * perPile),
      MB: round2((fleet.connect.bytes * scale) / 2 ** 20),
      seconds: round2(connectSeconds),
    },
    nodeDeath: {
      cars: carsPerNode,
      messages: Math.round(carsPerNode * 2 * piles * perPile),
      nodeHoursAtMeasuredRate: round2((carsPerNode * connectSeconds) / 3600),
    },
  };
}

export async function clusterScenario(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<ClusterResult> {
  const log = options.log ?? (() => {});
  const count = options.quick ? 100 : 500;
  const fleet = await createFleet({ piles: 20, vehicles: 2 });
  await fleet.registry.grant(fleet.vehicles[0]!.vid, { scope: 'all' });
  const result: ClusterResult = {
    handshakes: count,
    handshakeMs: { oneBroker: empty, oneNode: empty, acrossNodes: empty },
    hopP50Ms: Number.NaN,
    hopP99Ms: Number.NaN,
    loadavg1: loadavg()[0],
  };
  let redis: TestRedis | undefined;
  const brokers: RunningBroker[] = [];
  try {
    const single = await startBrokerProcess(fleet, 'aedes', undefined, { name: 'one broker' });
    brokers.push(single);
    result.handshakeMs.oneBroker = await handshakeRun(fleet, single.url, single.url, count);
    await single.service.stop();
    log(
      `  one broker:         p50 ${result.handshakeMs.oneBroker.p50} ms, p99 ${result.handshakeMs.oneBroker.p99} ms`,
    );

    redis = await TestRedis.start();
    for (const i of [0, 1])
      brokers.push(
        await startBrokerProcess(fleet, 'aedes', undefined, {
          name: `cluster node ${i}`,
          brokerArgs: ['--redis-url', redis.url, '--sessions-per-vehicle', '1000000'],
        }),
      );
    const [node0, node1] = [brokers[1]!, brokers[2]!];
    result.handshakeMs.oneNode = await handshakeRun(fleet, node1.url, node1.url, count);
    log(
      `  one cluster node:   p50 ${result.handshakeMs.oneNode.p50} ms, p99 ${result.handshakeMs.oneNode.p99} ms`,
    );
    result.handshakeMs.acrossNodes = await handshakeRun(fleet, node1.url, node0.url, count);
    log(
      `  across two nodes:   p50 ${result.handshakeMs.acrossNodes.p50} ms, p99 ${result.handshakeMs.acrossNodes.p99} ms`,
    );
    result.hopP50Ms = round2(result.handshakeMs.acrossNodes.p50 - result.handshakeMs.oneBroker.p50);
    result.hopP99Ms = round2(result.handshakeMs.acrossNodes.p99 - result.handshakeMs.oneBroker.p99);
    log(`  the cluster hop adds p50 ${result.hopP50Ms} ms, p99 ${result.hopP99Ms} ms`);

    const car = fleet.vehicles[1]!;
    result.retained = await measureRetained({
      redisUrl: redis.url,
      nodeUrl: node0.url,
      car,
      sizes: [10_000, 100_000],
      payload: sampleCredential(),
      log,
    });
    result.fleet = await measureFleet({
      redisUrl: redis.url,
      nodeUrl: node0.url,
      nodePid: node0.service.pid,
      car,
      cars: options.quick ? 500 : 5000,
      piles: options.quick ? 10_000 : 100_000,
      // as the cloud and the gateway published them for the fleet's first pile during the runs above
      directoryPayload: await retainedPayload(redis.url, topics.directoryPile(fleet.piles[0]!.pid)),
      statusPayload: await retainedPayload(redis.url, topics.pileStatus(fleet.piles[0]!.pid)),
      log,
    });
    result.paper = onPaper(result.retained, result.fleet);
    const p = result.paper;
    log(
      `  on paper: ${p.carsPerNode} cars per node in ${p.nodeBudgetMB} MB; 1,000,000 cars: ${p.nodesForMillionCars} nodes, ` +
        `Redis ${p.redisGB} GB; a head unit's connect at 100,000 piles: ${p.headUnitConnectAt100kPiles.messages} messages, ` +
        `${p.headUnitConnectAt100kPiles.MB} MB, ${p.headUnitConnectAt100kPiles.seconds} s; a node's death: ` +
        `${p.nodeDeath.messages} messages to its ${p.nodeDeath.cars} cars, ${p.nodeDeath.nodeHoursAtMeasuredRate} node-hours`,
    );
  } catch (error) {
    result.error = (error as Error).message;
    log(`  failed: ${result.error}`);
  } finally {
    for (const broker of brokers) await broker.service.stop();
    await redis?.stop();
    await removeFleet(fleet);
  }
  log('  credential issuance: one cloud on SQLite, two on PostgreSQL');
  result.issuance = await clusterIssuanceScenario({ quick: options.quick, log });
  return result;
}
