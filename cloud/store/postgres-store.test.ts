/**
 * What the PostgreSQL store adds for several cloud instances on one database (a real server for this file, a fresh
 * database per test): row locks, retained revs in commit order, change notifications, migrations, the broker's
 * read-only role. What both stores do alike is in cloud-store.test.ts.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestPostgres } from '../../tests/support/postgres.js';
import type { CloudTx } from './cloud-store.js';
import { migratePostgres, PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import { PostgresCloudStore } from './postgres-store.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await TestPostgres.start();
}, 60_000);
afterAll(() => server?.stop());

const pile = (pid: string) => ({
  pid,
  gid: null,
  site: 'A',
  name: 'p',
  address: 'street',
  lat: 50,
  lon: 7,
  connectors: '[]',
  price_per_kwh: '0.40',
  currency: 'EUR',
  root_key_sealed: new Uint8Array([1, 2, 3]),
  created_at: 1,
  sign_key: null,
  signing_key_sealed: null,
});

/** Resolves after `ms`. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the PostgreSQL store', () => {
  let url: string;
  let a: PostgresCloudStore;
  let b: PostgresCloudStore; // another cloud instance
  beforeEach(async () => {
    url = await server.createDatabase();
    a = await PostgresCloudStore.open(url);
    b = await PostgresCloudStore.open(url);
    await a.transaction((tx) => tx.insertPile(pile('P1')));
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('makes a second lockPile wait for the first unit, then hands it the committed row', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = a.transaction(async (tx) => {
      const row = await tx.lockPile('P1');
      await tx.setControl('P1', row!.control_seq + 1, 'first');
      await held;
    });
    await pause(100);
    const order: string[] = [];
    const second = b.transaction(async (tx) => {
      const row = await tx.lockPile('P1');
      order.push(`second locked at seq ${row!.control_seq}`);
      await tx.setControl('P1', row!.control_seq + 1, 'second');
    });
    const skipped = await b.transaction((tx) => tx.lockPile('P1', { skipLocked: true }));
    await pause(100);
    order.push('first commits');
    release();
    await Promise.all([first, second]);
    expect(skipped).toBeUndefined(); // held by another unit: not waited for
    expect(order).toEqual(['first commits', 'second locked at seq 1']);
    expect(await a.read((tx) => tx.pile('P1'))).toMatchObject({ control_seq: 2, control_state: 'second' });
  });

  it('numbers retained rows in commit order: a reader past rev n never misses a row committed before it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // `early` writes first but commits last
    const early = a.transaction(async (tx) => {
      await tx.putRetained('early', 'x', 1);
      await held;
    });
    await pause(50);
    await b.transaction((tx) => tx.putRetained('late', 'y', 1));
    const seen = await b.read((tx) => tx.retainedSince(0));
    expect(seen.map((r) => r.topic)).toEqual(['late']);
    release();
    await early;
    const next = await b.read((tx) => tx.retainedSince(seen[0]!.rev));
    expect(next.map((r) => r.topic)).toEqual(['early']);
  });

  it('reads its own held-back writes, and a held write that fails rolls the whole unit back', async () => {
    await a.transaction((tx) =>
      tx.insertVehicle({ vid: 'V1', name: '', vehicle_key_sealed: new Uint8Array([0]), created_at: 1 }),
    );
    const ticket = (tid: string) => ({
      tid,
      vid: 'V1',
      pid: 'P1',
      grant_id: null,
      off: 0,
      iat: 10,
      nbf: 10,
      exp: 100,
      ticket: 't',
      sealed: `sealed-${tid}`,
      sign_key: null,
    });
    const seen = await a.transaction(async (tx) => {
      await tx.insertTicket(ticket('T1'));
      await tx.putRetained('c', 'one', 1);
      await tx.audit({ ts: 1, actor: 'service', action: 'ticket.issue', subject: 'V1/P1', detail: null });
      return {
        latest: (await tx.latestTicket('V1', 'P1'))?.tid,
        payload: await tx.retainedPayload('c'),
        audit: (await tx.recentAudit(1))[0]?.action,
      };
    });
    expect(seen).toEqual({ latest: 'T1', payload: 'one', audit: 'ticket.issue' });
    await expect(
      a.transaction(async (tx) => {
        await tx.putRetained('d', 'never', 2);
        await tx.insertTicket(ticket('T1')); // a duplicate tid: refused when sent, at commit
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await b.read((tx) => tx.retainedPayload('d'))).toBeUndefined();
    expect((await b.read((tx) => tx.recentTickets(10))).map((t) => t.tid)).toEqual(['T1']);
  });

  it('waits for a unit holding the same nonce: one of two instances remembers it', async () => {
    const results = await Promise.all(
      [a, b, a, b].map((store) => store.transaction((tx) => tx.rememberNonce('V1', 'n', 1))),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("notices another connection's registry change, not the issuer's writes", async () => {
    const before = await a.externalVersion();
    await pause(100); // listening
    await b.transaction(async (tx) => {
      await tx.putRetained('t', 'p', 1);
      await tx.setControl('P1', 1, 's');
      await tx.audit({ ts: 1, actor: 'service', action: 'x', subject: null, detail: null });
    });
    await pause(200);
    expect(await a.externalVersion()).toBe(before);
    await b.transaction((tx) => tx.setKeyOffset('P1', 1));
    await expect.poll(() => a.externalVersion(), { timeout: 5000 }).toBeGreaterThan(before);
  });

  it('lets a member of evauth_broker read the two login views and nothing else', async () => {
    await server.sql('CREATE ROLE test_broker LOGIN IN ROLE evauth_broker').catch(() => undefined);
    const brokerUrl = url.replace(`${server.superuser}@`, 'test_broker@');
    await a.transaction(async (tx: CloudTx) => {
      await tx.putLogin({ username: 'cloud', scrypt_hash: 'h', mosquitto_hash: 'm', created_at: 1 });
    });
    const client = new pg.Client({ connectionString: brokerUrl });
    await client.connect();
    try {
      expect((await client.query('SELECT * FROM broker_logins')).rows).toEqual([
        { username: 'cloud', password_hash: 'h' },
      ]);
      await expect(client.query('SELECT * FROM piles')).rejects.toThrow(/permission denied/);
      await expect(client.query('SELECT * FROM mqtt_users')).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });
});

describe('PostgreSQL migrations', () => {
  it('migrates a database left at version 1, keeping its rows, and refuses one newer than this program', async () => {
    const url = await server.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(PG_MIGRATIONS[0]!);
      await client.query(
        'CREATE TABLE evauth_schema(version INTEGER NOT NULL); INSERT INTO evauth_schema VALUES (1)',
      );
      await client.query("INSERT INTO mqtt_users VALUES ('vehicle:V1', 's', 'm', 1)");
      await client.query(
        "INSERT INTO vehicles(vid, vehicle_key_sealed, created_at) VALUES ('V1', '\\x00', 1)",
      );
      const store = await PostgresCloudStore.open(url);
      try {
        expect((await client.query('SELECT version FROM evauth_schema')).rows).toEqual([
          { version: PG_SCHEMA_VERSION },
        ]);
        expect((await client.query('SELECT * FROM broker_logins')).rows).toEqual([
          { username: 'vehicle:V1', password_hash: 's' },
        ]);
        expect(await store.read((tx) => tx.vehicle('V1'))).toMatchObject({ vid: 'V1', revoked_at: null });
      } finally {
        await store.close();
      }
      await client.query('UPDATE evauth_schema SET version = $1', [PG_SCHEMA_VERSION + 1]);
      await expect(migratePostgres(client)).rejects.toThrow(/newer than this program/);
      await expect(PostgresCloudStore.open(url)).rejects.toThrow(/newer than this program/);
    } finally {
      await client.end();
    }
  });
});
