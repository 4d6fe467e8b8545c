/**
 * The SQLite store on a real file: migrations from older cloud.db files, and units of work that never interleave.
 * What both stores must do alike is in cloud-store.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteCloudStore } from './sqlite-store.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'evauth-store-'));
  path = join(dir, 'cloud.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A cloud.db as a release with `version` migrations left it, holding one vehicle, pile, grant and login. */
function writeOldDatabase(version: number): void {
  const db = new Database(path);
  for (const migration of MIGRATIONS.slice(0, version)) db.exec(migration);
  db.pragma(`user_version = ${version}`);
  db.prepare("INSERT INTO mqtt_users VALUES ('vehicle:V1', 'scrypt$x', '$7$y', 1)").run();
  db.prepare(
    "INSERT INTO vehicles(vid, name, vehicle_key_sealed, created_at) VALUES ('V1', 'car', x'00', 1)",
  ).run();
  db.prepare(
    `INSERT INTO piles(pid, gid, site, name, address, lat, lon, connectors, price_per_kwh, currency,
       root_key_sealed, created_at) VALUES ('P1', NULL, 'A', 'p', 'street', 50, 7, '[]', '0.40', 'EUR', x'00', 1)`,
  ).run();
  db.prepare(
    "INSERT INTO grants(vid, scope, target, nbf, created_at) VALUES ('V1', 'pile', 'P1', 0, 1)",
  ).run();
  db.close();
}

const schemaVersion = () => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true });
  } finally {
    db.close();
  }
};

describe('migrations', () => {
  it.each([1, 2, 3])(
    'opens a cloud.db of schema version %i and migrates it, keeping its rows',
    async (version) => {
      writeOldDatabase(version);
      const store = SqliteCloudStore.open(path);
      try {
        expect(schemaVersion()).toBe(SCHEMA_VERSION);
        const seen = await store.read(async (tx) => ({
          vehicle: await tx.vehicle('V1'),
          pile: await tx.pile('P1'),
          grants: await tx.activeGrants('V1', 10),
          login: await tx.login('vehicle:V1'),
        }));
        expect(seen.vehicle).toMatchObject({ vid: 'V1', name: 'car', revoked_at: null });
        expect(seen.pile).toMatchObject({ pid: 'P1', key_offset: 0, control_seq: 0, control_state: null });
        // migration 4: a pile from before is the simulator's
        expect(seen.pile).toMatchObject({ ocpp_station: null, ocpp_password_sealed: null });
        expect(seen.grants).toHaveLength(1);
        expect(seen.login?.scrypt_hash).toBe('scrypt$x');
      } finally {
        await store.close();
      }
      // the broker's login view (migration 2) is there whatever the file's age
      const broker = new Database(path, { readonly: true });
      try {
        expect(
          broker.prepare('SELECT password_hash FROM broker_logins WHERE username = ?').get('vehicle:V1'),
        ).toEqual({
          password_hash: 'scrypt$x',
        });
        expect(broker.prepare('SELECT gid, pid FROM broker_gateway_piles').all()).toEqual([]);
      } finally {
        broker.close();
      }
    },
  );

  it('refuses a cloud.db newer than this program, and leaves it alone', () => {
    writeOldDatabase(SCHEMA_VERSION);
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => SqliteCloudStore.open(path)).toThrow(/newer than this program/);
    expect(schemaVersion()).toBe(SCHEMA_VERSION + 1);
  });
});

describe('units of work', () => {
  let store: SqliteCloudStore;
  beforeEach(() => {
    store = SqliteCloudStore.open(path);
  });
  afterEach(() => store.close());

  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('run one at a time even when each awaits between its reads and writes', async () => {
    const order: string[] = [];
    const unit = (name: string) =>
      store.transaction(async (tx) => {
        order.push(`${name} begins`);
        const before = await tx.retainedPayload('t');
        await tick();
        await tx.putRetained('t', `${before ?? ''}${name}`, 1);
        await tick();
        order.push(`${name} ends`);
      });
    const reads: (string | undefined)[] = [];
    await Promise.all([
      unit('a'),
      store.read(async (tx) => reads.push(await tx.retainedPayload('t'))),
      unit('b'),
      unit('c'),
    ]);
    expect(order).toEqual(['a begins', 'a ends', 'b begins', 'b ends', 'c begins', 'c ends']);
    expect(reads).toEqual(['a']); // the read saw a's committed write, none of b's
    expect(await store.read((tx) => tx.retainedPayload('t'))).toBe('abc');
  });
});
