/**
 * The whole system on a two-node broker cluster (two broker/main.ts processes sharing a redis-server): the car
 * connects to node 0, the gateway and the cloud to node 1, so every handshake crosses Redis. Then the failures:
 * a node killed with SIGKILL under a charging car, under the gateway, and Redis itself restarted empty.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ChargingSession, VehicleClient } from '../../head-unit/vehicle/index.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { connectClient, waitFor } from '../support/mqtt.js';
import { credentialFor, GID, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({ clusterNodes: 2, meterIntervalMs: 100 }).start();
}, 60_000);

afterAll(async () => {
  await system?.close();
});

async function meters(session: ChargingSession, count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => session.meters.length >= count || undefined, timeoutMs, `${count} readings`);
}

/** The session record as the gateway's store has it. */
function record(sid: string) {
  const store = new SessionStore(path.join(system.gatewayDir, 'data'));
  try {
    return store.get(sid);
  } finally {
    store.closeDatabase();
  }
}

async function charge(client: VehicleClient, pid: string, connector: number): Promise<ChargingSession> {
  const outcome = await client.authenticate(pid, connector);
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
  return outcome.session;
}

describe('the system on a two-node broker cluster', () => {
  it('a car on node 0 charges at a pile whose gateway is on node 1, with a credential the cloud published on node 1', async () => {
    const gatewayNode = system.gateway.logs.find((l) => l.msg === 'connected to broker')?.['url'];
    expect(gatewayNode).toBe(`mqtt://127.0.0.1:${system.mqttPorts[1]}`);
    const car = await system.addVehicle('CL-FLOW', { scope: 'all' });
    expect(car.mqtt.urls).toEqual(system.nodeUrls('mqtt', 0));
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P1'); // retained through node 1, delivered by node 0
    const session = await charge(client, 'IT-P1', 1);
    await meters(session, 3);
    const receipt = await session.stop();
    expect(receipt.receipt.reason).toBe('stopped');
    expect(session.rejected).toEqual([]);
    expect(record(session.sid)?.state).toBe('closed');
  }, 30_000);

  it("SIGKILL of the car's node mid-session: the car moves to node 1, the session ends with its receipt, nothing lost", async () => {
    const car = await system.addVehicle('CL-KILL', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P2');
    const session = await charge(client, 'IT-P2', 1);
    await meters(session, 3);
    const states: string[] = [];
    client.on('connection', ({ state }) => states.push(state));
    await system.brokers[0]!.stop('SIGKILL');
    onTestFinished(() => system.startBroker(0)); // the next tests have both nodes again, passed or not
    const before = session.meters.length;
    await meters(session, before + 5, 15_000); // readings flow again, through node 1
    expect(states).toContain('connected');
    const receipt = await session.stop();
    expect(receipt.receipt.reason).toBe('stopped');
    expect(session.rejected).toEqual([]);
    const seqs = session.meters.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(receipt.receipt.wh).toBeGreaterThanOrEqual(session.lastMeter!.reading.wh);
    const closed = record(session.sid);
    expect(closed?.state).toBe('closed');
    expect(closed?.lastWh).toBe(receipt.receipt.wh);
  }, 40_000);

  it("SIGKILL of the gateway's node: the gateway moves to node 0 and stays online after the dead node's wills are due", async () => {
    const car = await system.addVehicle('CL-GW', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P3');
    const statuses: boolean[] = [];
    client.on('gateway-status', ({ gid, status }) => {
      if (gid === GID && status) statuses.push(status.online);
    });
    const loggedBefore = system.gateway.logs.length;
    await system.brokers[1]!.stop('SIGKILL');
    onTestFinished(() => system.startBroker(1));
    await waitFor(
      () => system.gateway.logs.slice(loggedBefore).find((l) => l.msg === 'serving piles'),
      10_000,
      'the gateway serving again',
    );
    // node 1 is dead after 3 heartbeats (1.5 s) and its wills are published within a 4th check (2 s): wait past it
    await new Promise((r) => setTimeout(r, 4500));
    expect(client.gatewayStatus.get(GID)?.online).toBe(true);
    expect(statuses.at(-1)).toBe(true);
    // and the pile serves: car and gateway now both on node 0
    const session = await charge(client, 'IT-P3', 1);
    await meters(session, 2);
    expect((await session.stop()).receipt.reason).toBe('stopped');
  }, 40_000);

  it('Redis restarted empty: the nodes refuse while it is away; then everyone republishes and the car charges', async () => {
    const car = await system.addVehicle('CL-REDIS', { scope: 'all' });
    const before = await system.vehicle(car);
    await credentialFor(before, 'IT-P1');
    await before.close();
    const redis = system.redis!;
    const logged = system.brokers.map((b) => b.logs.length);
    await redis.kill();
    for (const [i, broker] of system.brokers.entries())
      await broker.waitForLog(
        (l) =>
          l.level === 50 && /^redis unreachable/.test(l.msg ?? '') && broker.logs.indexOf(l) >= logged[i]!,
        10_000,
        'redis unreachable',
      );
    // a node answers "server unavailable"; the thrown-off clients meet that too while they retry, for a while
    await expect(
      connectClient(system.nodeUrls('mqtt', 0)[0]!, 'cloud', system.registry.cloudPassword()),
    ).rejects.toMatchObject({ code: 3 });
    await new Promise((r) => setTimeout(r, 2000));
    await redis.resume();
    for (const [i, broker] of system.brokers.entries())
      await broker.waitForLog(
        (l) => /^redis reachable/.test(l.msg ?? '') && broker.logs.indexOf(l) >= logged[i]!,
        10_000,
        'redis reachable',
      );
    // The retained messages were in the Redis that restarted: the car finds its credential, the directory and
    // the gateway's status again only because the cloud and the gateway, thrown off their node, republished.
    const after = await system.vehicle(car);
    await credentialFor(after, 'IT-P1', 15_000);
    await waitFor(() => after.directory.has('IT-P1') || undefined, 10_000, 'the directory again');
    await waitFor(() => after.gatewayStatus.get(GID)?.online || undefined, 10_000, 'gateway status again');
    const session = await charge(after, 'IT-P1', 2);
    await meters(session, 2);
    expect((await session.stop()).receipt.reason).toBe('stopped');
  }, 60_000);
});
