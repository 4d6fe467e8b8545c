/**
 * The PROTOCOL §9 rights tests as a reusable suite, run against the embedded aedes broker (broker.test.ts),
 * against Debian's Mosquitto started from the exported files (cloud/mosquitto.test.ts) and against a two-node
 * aedes cluster with every publisher on one node and every observer on the other (broker-cluster.test.ts). Every
 * refusal is measured where it matters: the message must not reach a subscriber that would otherwise get it.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { topics } from '../../shared/index.js';
import {
  collect,
  connectClient,
  connectWithRetry,
  type RightsWorld,
  reaches,
  subscribeCode,
} from './mqtt.js';

export interface RightsSuiteOptions {
  /**
   * aedes refuses a vehicle's retained publish; Mosquitto cannot (no per-client retain right), so there the
   * message does arrive, flagged retained, and piles must ignore retained messages on auth topics.
   */
  refusesRetained: boolean;
}

export function rightsSuite(world: () => RightsWorld, options: RightsSuiteOptions): void {
  const open: MqttClient[] = [];
  /** observers (whose subscriptions measure a refusal) connect to `observerUrl` when the world has one */
  type Role = 'publisher' | 'observer';
  const connect = async (username: string, password: string, role: Role) => {
    const url = role === 'observer' ? (world().observerUrl ?? world().url) : world().url;
    const client = await connectWithRetry(url, username, password);
    open.push(client);
    return client;
  };
  const vehicle = (which: 'vehicle1' | 'vehicle2', role: Role = 'publisher') =>
    connect(`vehicle:${world()[which].vid}`, world()[which].password, role);
  const gateway = (role: Role = 'observer') =>
    connect(`gateway:${world().gateway.gid}`, world().gateway.password, role);
  const cloud = (role: Role) => connect('cloud', world().cloudPassword, role);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.endAsync(true)));
  });

  it('refuses anonymous, unknown and wrong-password logins', async () => {
    for (const url of new Set([world().url, world().observerUrl ?? world().url])) {
      await expect(connectClient(url)).rejects.toThrow(/Not authorized|Bad username|authori/i);
      await expect(connectClient(url, 'vehicle:nobody', 'x')).rejects.toThrow();
      await expect(connectClient(url, `vehicle:${world().vehicle1.vid}`, 'wrong')).rejects.toThrow();
      await expect(connectClient(url, 'cloud', world().vehicle1.password)).rejects.toThrow();
    }
    expect((await vehicle('vehicle1', 'publisher')).connected).toBe(true);
    expect((await vehicle('vehicle1', 'observer')).connected).toBe(true);
  });

  it("keeps a vehicle out of another vehicle's topics and of #", async () => {
    const { vid: v1 } = world().vehicle1;
    const { vid: v2 } = world().vehicle2;
    const spy = await vehicle('vehicle1', 'observer');
    const seen = collect(spy);
    // Mosquitto grants a SUBACK for a filter it then filters per message; aedes refuses with 0x80. Either way
    // nothing of vehicle 2 may arrive, which is what is measured below.
    await subscribeCode(spy, topics.vehicleAll(v2));
    await subscribeCode(spy, '#');
    await subscribeCode(spy, 'evauth/v1/vehicles/+/credentials/+');
    expect(await subscribeCode(spy, topics.vehicleAll(v1))).toBeLessThan(128);
    const cloudClient = await cloud('publisher');
    await cloudClient.publishAsync(topics.credential(v2, world().gateway.pid), 'secret-for-v2', { qos: 1 });
    await cloudClient.publishAsync(topics.vehicleCloud(v2), 'denied-for-v2', { qos: 1 });
    await cloudClient.publishAsync(topics.vehicleCloud(v1), 'for-v1', { qos: 1 });
    await expect.poll(() => seen.some((m) => m.payload === 'for-v1')).toBe(true);
    expect(seen.filter((m) => m.topic.includes(`/vehicles/${v2}/`))).toEqual([]);
  });

  it('lets a vehicle publish on piles/+/auth but not retained, nor on control, credential or vehicle topics', async () => {
    const { pid } = world().gateway;
    const { vid: v2 } = world().vehicle2;
    const pileSide = await gateway();
    const atPile = collect(pileSide);
    await pileSide.subscribeAsync([topics.pileAuth(pid), topics.pileControl(pid)], { qos: 0 });
    const victim = await vehicle('vehicle2', 'observer');
    const atVictim = collect(victim);
    await victim.subscribeAsync(topics.vehicleAll(v2), { qos: 0 });
    const cloudClient = await cloud('observer');
    const atCloud = collect(cloudClient);
    await cloudClient.subscribeAsync(topics.credentialRequests(), { qos: 0 });

    // Positive controls: the observers do see what a vehicle may send.
    expect(await reaches(await vehicle('vehicle1'), atPile, topics.pileAuth(pid))).toBe(true);
    expect(await reaches(await vehicle('vehicle1'), atCloud, topics.credentialRequests())).toBe(true);

    const retainedArrived = await reaches(await vehicle('vehicle1'), atPile, topics.pileAuth(pid), {
      retain: true,
    });
    expect(retainedArrived).toBe(!options.refusesRetained);
    expect(await reaches(await vehicle('vehicle1'), atPile, topics.pileControl(pid))).toBe(false);
    expect(await reaches(await vehicle('vehicle1'), atVictim, topics.credential(v2, pid))).toBe(false);
    expect(await reaches(await vehicle('vehicle1'), atVictim, topics.vehicleAuth(v2))).toBe(false);
    expect(await reaches(await vehicle('vehicle1'), atVictim, topics.vehicleSession(v2))).toBe(false);
    expect(await reaches(await vehicle('vehicle1'), atVictim, topics.vehicleCloud(v2))).toBe(false);
    // What a later subscriber finds: nothing on aedes; on Mosquitto the vehicle's message, flagged retained,
    // which is how the pile side recognises and ignores it.
    const late = await gateway();
    const atLate = collect(late);
    await late.subscribeAsync(topics.pileAuth(pid), { qos: 0 });
    await new Promise((r) => setTimeout(r, 200));
    if (options.refusesRetained) expect(atLate).toEqual([]);
    else expect(atLate.length > 0 && atLate.every((m) => m.retain)).toBe(true);
  });

  it("keeps a gateway to its own piles' auth and control topics", async () => {
    const { pid } = world().gateway;
    const gw = await gateway();
    const seen = collect(gw);
    expect(await subscribeCode(gw, topics.pileAuth(pid))).toBeLessThan(128);
    expect(await subscribeCode(gw, topics.pileControl(pid))).toBeLessThan(128);
    await subscribeCode(gw, topics.pileAuth(world().otherPid));
    await subscribeCode(gw, 'evauth/v1/piles/+/auth');
    const car = await vehicle('vehicle1');
    expect(await reaches(car, seen, topics.pileAuth(world().otherPid))).toBe(false);
    expect(await reaches(car, seen, topics.pileAuth(pid))).toBe(true);
  });
}
