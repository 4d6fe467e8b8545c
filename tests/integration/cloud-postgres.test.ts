/**
 * Two cloud/main.ts processes sharing one PostgreSQL registry (a real server on a Unix socket) and a real broker on
 * loopback whose logins come from the registry's view in PostgreSQL, read by a role of evauth_broker. They issue
 * 10,000 credentials between them, each exactly once (one ticket per pair in PostgreSQL, one credential per pair
 * at its vehicle, the same one); then one is killed (SIGKILL) while both issue 2,000 more, and still every pair
 * gets exactly one credential. A vehicle revoked in the registry is cut off by the broker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker } from '../../broker/index.js';
import { PostgresLoginView } from '../../broker/pg-login-view.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import type { ChildService } from '../../node/child-process.js';
import { b64uDecode, deriveSealKey, openCredential, topics } from '../../shared/index.js';
import { startEntryPoint } from '../support/entry-points.js';
import { connectWithRetry } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';
import { TestPostgres } from '../support/postgres.js';

const PILES = 500;
const FIRST_VEHICLES = 20; // 10,000 pairs
const MORE_VEHICLES = 4; // 2,000 more
const CREDENTIAL = /\/vehicles\/([^/]+)\/credentials\/([^/]+)$/;

describe('two cloud instances on one PostgreSQL registry', () => {
  let dir: string;
  let server: TestPostgres;
  let databaseUrl: string;
  let registry: Registry;
  let logins: PostgresLoginView;
  let broker: RunningBroker;
  let mqttUrl: string;
  const instances: ChildService[] = [];
  const vehicles: MqttClient[] = [];
  const vehicleKeys = new Map<string, Uint8Array>();
  /** `vid/pid` → every distinct credential payload its vehicle received */
  const received = new Map<string, Set<string>>();

  /** Registers the vehicles and connects each (it subscribes to its topics); grants them every pile if asked. */
  async function addVehicles(from: number, count: number, grant: boolean): Promise<string[]> {
    const vids: string[] = [];
    for (let i = from; i < from + count; i++) {
      const vid = `V${String(i).padStart(3, '0')}`;
      const provisioning = await registry.addVehicle(vid, { mqttUrl, wsUrl: 'ws://127.0.0.1:1/mqtt' });
      if (grant) await registry.grant(vid, { scope: 'all' });
      vids.push(vid);
      vehicleKeys.set(vid, b64uDecode(provisioning.vehicleKey));
      // the broker knows the new login once its view has read the registry's notification
      const client = await connectWithRetry(mqttUrl, `vehicle:${vid}`, provisioning.mqtt.password, 40, 100);
      client.on('message', (topic, payload) => {
        const pair = CREDENTIAL.exec(topic);
        if (!pair || payload.length === 0) return;
        const key = `${pair[1]}/${pair[2]}`;
        const seen = received.get(key) ?? new Set<string>();
        seen.add(payload.toString());
        received.set(key, seen);
      });
      await client.subscribeAsync(topics.vehicleAll(vid), { qos: 1 });
      vehicles.push(client);
    }
    return vids;
  }

  const ticketCount = async () =>
    (await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM tickets', [], databaseUrl))[0]!.n;

  /** Every pair has exactly one ticket in PostgreSQL, and its vehicle received that ticket's credential only. */
  async function expectEachIssuedOnce(pairs: number): Promise<void> {
    await expect
      .poll(async () => (await ticketCount()) >= pairs && received.size >= pairs, {
        timeout: 120_000,
        interval: 200,
        message: `${pairs} credentials issued and received`,
      })
      .toBe(true);
    const dupes = await server.sql(
      'SELECT vid, pid, count(*)::int AS n FROM tickets GROUP BY vid, pid HAVING count(*) <> 1',
      [],
      databaseUrl,
    );
    expect(dupes).toEqual([]);
    const tickets = await server.sql<{ vid: string; pid: string; sealed: string }>(
      'SELECT vid, pid, sealed FROM tickets',
      [],
      databaseUrl,
    );
    expect(tickets).toHaveLength(pairs);
    expect(received.size).toBe(pairs);
    for (const t of tickets) {
      const payloads = [...(received.get(`${t.vid}/${t.pid}`) ?? [])];
      expect(payloads, `${t.vid}/${t.pid}`).toEqual([t.sealed]);
    }
    // and each opens for its vehicle (a sample: opening is the vehicle's cost, not the subject here)
    for (const t of tickets.slice(0, 50)) {
      const key = deriveSealKey(vehicleKeys.get(t.vid)!, t.vid);
      expect(openCredential(key, topics.credential(t.vid, t.pid), t.sealed).ok).toBe(true);
    }
  }

  const startInstance = (index: number) =>
    startEntryPoint('cloud/main.ts', [
      '--data',
      dir,
      '--database-url',
      databaseUrl,
      '--mqtt-url',
      mqttUrl,
      '--instance',
      `${index}/2`,
    ]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-cloud-pg-'));
    server = await TestPostgres.start();
    databaseUrl = await server.createDatabase();
    registry = await openRegistry(dir, { databaseUrl });
    await registry.init();
    await registry.addPiles(
      Array.from({ length: PILES }, (_, i) => ({
        pid: `P${String(i).padStart(4, '0')}`,
        spec: testPileSpec(),
      })),
    );
    await server.sql('CREATE ROLE test_broker LOGIN IN ROLE evauth_broker');
    logins = await PostgresLoginView.open(databaseUrl.replace(`${server.superuser}@`, 'test_broker@'));
    broker = await startBroker({ mqttPort: 0, logins });
    mqttUrl = `mqtt://127.0.0.1:${broker.mqttPort}`;
    await addVehicles(0, FIRST_VEHICLES, true);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop('SIGKILL')));
    await Promise.all(vehicles.map((c) => c.endAsync(true)));
    await broker?.close();
    await logins?.close();
    await registry?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issue 10,000 credentials between them, each exactly once', async () => {
    instances.push(...(await Promise.all([startInstance(1), startInstance(2)])));
    await expectEachIssuedOnce(PILES * FIRST_VEHICLES);
    // both took part: each committed credentials of its own
    for (const instance of instances) {
      const changed = instance.logs
        .filter((l) => l.msg === 'registry reconciled')
        .reduce((sum, l) => sum + Number(l.changed), 0);
      expect(changed, instance.name).toBeGreaterThan(0);
    }
  }, 150_000);

  it('still issue each credential exactly once when one of them is killed while issuing', async () => {
    const before = PILES * FIRST_VEHICLES;
    const total = PILES * (FIRST_VEHICLES + MORE_VEHICLES);
    // the vehicles first, then their grants at once: the instances then have 2,000 credentials to issue
    for (const vid of await addVehicles(FIRST_VEHICLES, MORE_VEHICLES, false))
      await registry.grant(vid, { scope: 'all' });
    await expect
      .poll(ticketCount, { timeout: 60_000, interval: 50, message: 'the second batch under way' })
      .toBeGreaterThan(before + 500);
    await instances[0]!.stop('SIGKILL');
    // killed while issuing: the survivor had work left
    expect(await ticketCount()).toBeLessThan(total);
    await expectEachIssuedOnce(total);
    expect(instances[1]!.running).toBe(true);
  }, 150_000);

  it("cuts off a revoked vehicle at every broker reading the registry's view in PostgreSQL", async () => {
    const [revoked, kept] = [vehicles[0]!, vehicles[1]!];
    expect(revoked.connected && kept.connected).toBe(true);
    await registry.revokeVehicle('V000');
    await expect.poll(() => revoked.connected, { timeout: 10_000 }).toBe(false);
    expect(kept.connected).toBe(true);
  }, 30_000);
});
