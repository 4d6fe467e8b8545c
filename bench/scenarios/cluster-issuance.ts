/**
 * Part of scenario 7 (`--only cluster`): credential issuance past one machine. The same fleet (every vehicle
 * granted every pile) issued by one cloud/main.ts on SQLite (cloud.db), then by two cloud/main.ts instances
 * sharing a PostgreSQL registry (Debian's server on a Unix socket, tests/support/postgres.ts; the broker reads its
 * logins from there too). The clock runs from the instances' start to the last credential delivered to its
 * vehicle; every pair must arrive.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../shared/index.js';
import { TestPostgres } from '../../tests/support/postgres.js';
import { loadavg } from '../lib/machine.js';
import { benchService, type ChildService } from '../lib/processes.js';
import { createFleet, type Fleet, removeFleet, startBrokerProcess } from '../lib/system.js';

export interface IssuanceRun {
  store: 'sqlite' | 'postgres';
  instances: number;
  credentials: number;
  delivered: number;
  /** instances started → last credential delivered */
  ms: number;
  perS: number;
}

export interface ClusterIssuanceResult {
  vehicles: number;
  piles: number;
  runs: IssuanceRun[];
  loadavg1: number;
  error?: string;
}

/** Subscribes every vehicle to its credentials; resolves when every pair has arrived (or at the deadline). */
async function subscribeFleet(fleet: Fleet, url: string, clients: MqttClient[]) {
  const pairs = new Set<string>();
  const total = fleet.vehicles.length * fleet.piles.length;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  for (const v of fleet.vehicles) {
    const client = await mqtt.connectAsync(url, {
      clientId: `vehicle-${v.vid}-issuance`,
      username: v.username,
      password: v.password,
      reconnectPeriod: 0,
    });
    (client.stream as net.Socket).setNoDelay?.(true);
    client.on('message', (topic, payload) => {
      // two instances may both publish a row: a pair counts once
      if (payload.length > 0 && !pairs.has(topic) && pairs.add(topic).size === total) done();
    });
    await client.subscribeAsync(topics.credential(v.vid, '+'), { qos: 1 });
    clients.push(client);
  }
  return { all, delivered: () => pairs.size, total };
}

async function run(
  store: IssuanceRun['store'],
  options: { vehicles: number; piles: number; instances: number; timeoutMs: number },
): Promise<IssuanceRun> {
  const server = store === 'postgres' ? await TestPostgres.start() : undefined;
  const clients: MqttClient[] = [];
  const clouds: ChildService[] = [];
  let fleet: Fleet | undefined;
  try {
    const databaseUrl = await server?.createDatabase();
    fleet = await createFleet({ piles: options.piles, vehicles: options.vehicles, databaseUrl });
    for (const v of fleet.vehicles) await fleet.registry.grant(v.vid, { scope: 'all' });
    const dbArgs = databaseUrl ? ['--database-url', databaseUrl] : [];
    const broker = await startBrokerProcess(fleet, 'aedes', undefined, { brokerArgs: dbArgs });
    try {
      const fleetView = await subscribeFleet(fleet, broker.url, clients);
      const t0 = performance.now();
      for (let i = 1; i <= options.instances; i++) {
        const args = ['--data', fleet.dataDir, '--mqtt-url', broker.url, ...dbArgs];
        if (options.instances > 1) args.push('--instance', `${i}/${options.instances}`);
        clouds.push(benchService(`cloud ${i}`, 'cloud/main.ts', args));
      }
      await Promise.all(clouds.map((c) => c.start()));
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.timeoutMs).unref());
      await Promise.race([fleetView.all, deadline]);
      const ms = Math.round(performance.now() - t0);
      const delivered = fleetView.delivered();
      return {
        store,
        instances: options.instances,
        credentials: fleetView.total,
        delivered,
        ms,
        perS: Math.round((delivered / ms) * 1000),
      };
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await Promise.all(clouds.map((c) => c.stop()));
      await broker.service.stop();
    }
  } finally {
    if (fleet) await removeFleet(fleet);
    await server?.stop();
  }
}

/** One instance on SQLite, then two on PostgreSQL, on the same size of fleet. */
export async function clusterIssuanceScenario(options: {
  quick: boolean;
  vehicles?: number;
  piles?: number;
  log?: (line: string) => void;
}): Promise<ClusterIssuanceResult> {
  const log = options.log ?? (() => {});
  const vehicles = options.vehicles ?? (options.quick ? 20 : 50);
  const piles = options.piles ?? (options.quick ? 500 : 1000);
  const result: ClusterIssuanceResult = { vehicles, piles, runs: [], loadavg1: loadavg()[0] };
  const timeoutMs = options.quick ? 120_000 : 300_000;
  try {
    for (const [store, instances] of [
      ['sqlite', 1],
      ['postgres', 2],
    ] as const) {
      const r = await run(store, { vehicles, piles, instances, timeoutMs });
      result.runs.push(r);
      log(
        `  issuance, ${instances} cloud instance(s) on ${store}: ${r.delivered}/${r.credentials} in ${r.ms} ms (${r.perS}/s)`,
      );
      if (r.delivered < r.credentials)
        result.error = `${store}: only ${r.delivered} of ${r.credentials} arrived`;
    }
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  cluster issuance failed: ${result.error}`);
  }
  result.loadavg1 = loadavg()[0];
  return result;
}
