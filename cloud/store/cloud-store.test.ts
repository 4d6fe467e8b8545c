/**
 * The registry and its units of work on both stores: cloud.db (SQLite) and PostgreSQL (a real server started for
 * this file, a fresh database per test). The same calls must give the same records on each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pooledSecureRandom } from '../../node/crypto.js';
import { topics } from '../../shared/index.js';
import { testPileSpec } from '../../tests/support/pile-spec.js';
import { TestPostgres } from '../../tests/support/postgres.js';
import type { IssuerOptions } from '../issuer.js';
import { reconcile } from '../reconcile.js';
import { openRegistry, type Registry, RegistryError } from '../registry.js';
import type { CloudReads, CloudTx } from './cloud-store.js';

let server: Promise<TestPostgres> | undefined;
afterAll(async () => {
  await (await server)?.stop();
});

const stores = [
  { name: 'SQLite', databaseUrl: async () => undefined },
  {
    name: 'PostgreSQL',
    databaseUrl: async () => {
      server ??= TestPostgres.start();
      return (await server).createDatabase();
    },
  },
];

const issuer: IssuerOptions = { ticketLifeSeconds: 7 * 24 * 3600, random: pooledSecureRandom() };
const T0 = 1_800_000_000_000;
const urls = { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' };

describe.each(stores)('the registry on $name', ({ databaseUrl }) => {
  let dir: string;
  let registry: Registry;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-stores-'));
    registry = await openRegistry(dir, { databaseUrl: await databaseUrl() });
    await registry.init(T0);
  }, 60_000);
  afterEach(async () => {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = <T>(work: (tx: CloudReads) => Promise<T>) => registry.store.read(work);

  /** a gateway with piles P1 and P2 at site A, P3 at site B; V1 may charge anywhere, V2 at P1 only */
  async function fleet(): Promise<void> {
    await registry.addGateway('G1', {}, T0);
    await registry.addPiles(
      [
        { pid: 'P1', spec: testPileSpec({ gid: 'G1' }) },
        { pid: 'P2', spec: testPileSpec({ gid: 'G1' }) },
        { pid: 'P3', spec: testPileSpec({ site: 'B' }) },
      ],
      T0,
    );
    for (const vid of ['V1', 'V2']) await registry.addVehicle(vid, urls, T0);
    await registry.grant('V1', { scope: 'all' }, T0);
    await registry.grant('V2', { scope: 'pile', target: 'P1' }, T0);
  }

  it('issues one credential per granted pair, signs each pile a control body, and a second pass changes nothing', async () => {
    await fleet();
    expect(await reconcile(registry, T0, issuer)).toBe(4 + 3 + 3); // credentials, control bodies, directory
    const seen = await registry.store.read(async (tx) => ({
      pairs: await Promise.all(
        ['V1/P1', 'V1/P2', 'V1/P3', 'V2/P1', 'V2/P2'].map(async (pair) => {
          const [vid, pid] = pair.split('/') as [string, string];
          return [pair, (await tx.latestTicket(vid, pid))?.off ?? null];
        }),
      ),
      piles: (await tx.piles()).map((p) => [p.pid, p.gid, p.control_seq, p.key_offset]),
      credential: await tx.retainedPayload(topics.credential('V2', 'P1')),
      latest: await tx.latestTicket('V2', 'P1'),
      topics: (await tx.retainedSince(0)).map((r) => r.topic).sort(),
    }));
    expect(Object.fromEntries(seen.pairs)).toEqual({
      'V1/P1': 0,
      'V1/P2': 0,
      'V1/P3': 0,
      'V2/P1': 0,
      'V2/P2': null,
    });
    expect(seen.piles).toEqual([
      ['P1', 'G1', 1, 0],
      ['P2', 'G1', 1, 0],
      ['P3', null, 1, 0],
    ]);
    expect(seen.credential).toBe(seen.latest?.sealed);
    expect(seen.topics).toHaveLength(10);
    expect(await reconcile(registry, T0 + 1000, issuer)).toBe(0);
  });

  it('revokes a vehicle and rotates a pile: new control bodies, a new ticket under the new offset', async () => {
    await fleet();
    await reconcile(registry, T0, issuer);
    await registry.revokeVehicle('V1', T0 + 1000);
    expect(await registry.rotate('P1', T0 + 1000)).toEqual({ previous: 0, current: 1 });
    await reconcile(registry, T0 + 2000, issuer);
    const after = await registry.store.read(async (tx) => ({
      p1: await tx.pile('P1'),
      v2: await tx.latestTicket('V2', 'P1'),
      control: JSON.parse(JSON.parse((await tx.retainedPayload(topics.pileControl('P1'))) ?? '{}').body),
      login: await tx.login('vehicle:V1'),
      revoked: await tx.revokedTicketsOfPile('P1', 0, 10),
      revokedVehicles: await tx.revokedVehiclesOfPile('P1', 0, 10),
    }));
    // seq 2: signed in the revocation's own transaction (rev. 2 §7); seq 3: the rotation's pass
    expect(after.p1).toMatchObject({ key_offset: 1, control_seq: 3 });
    expect(after.v2).toMatchObject({ off: 1, revoked_at: null });
    expect(after.control.seq).toBe(3);
    // a revoked vehicle is one entry of its own (PROTOCOL §7 revokedVehicles), not a list of its tickets
    expect(after.revoked).toEqual([]);
    expect(after.revokedVehicles).toEqual([{ vid: 'V1', exp: expect.any(Number) }]);
    expect(Number(after.revokedVehicles[0]?.exp)).toBeGreaterThan(T0 / 1000);
    expect(after.login).toBeUndefined();
  });

  it('revokes one ticket: it goes on the control list of its pile', async () => {
    await fleet();
    await reconcile(registry, T0, issuer);
    const tid = (await read((tx) => tx.latestTicket('V2', 'P1')))?.tid;
    await registry.store.transaction((tx) => tx.setTicketRevoked(tid!, T0 / 1000 + 1));
    expect((await read((tx) => tx.revokedTicketsOfPile('P1', 0, 10))).map((r) => r.tid)).toEqual([tid]);
    expect(await read((tx) => tx.revokedVehiclesOfPile('P1', 0, 10))).toEqual([]);
  });

  it('keeps each pile’s signing key and OCPP station, and re-issues credentials for a new signing key', async () => {
    await fleet();
    await reconcile(registry, T0, issuer);
    const before = await read((tx) => tx.pile('P1'));
    expect(before?.sign_key).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(before?.signing_key_sealed).not.toBeNull();
    expect(await read((tx) => tx.pileIdsWithoutSignKey())).toEqual([]);
    const oldTicket = await read((tx) => tx.latestTicket('V1', 'P1'));
    expect(oldTicket?.sign_key).toBe(before?.sign_key);
    const rotated = await registry.rotateSignKey('P1', {}, T0 + 1000);
    expect(rotated.current).not.toBe(before?.sign_key);
    await reconcile(registry, T0 + 2000, issuer);
    const fresh = await read((tx) => tx.latestTicket('V1', 'P1'));
    expect(fresh?.tid).not.toBe(oldTicket?.tid);
    expect(fresh?.sign_key).toBe(rotated.current);

    const entry = await registry.setPileCharger('P2', 'station-7');
    expect(entry).toMatchObject({ kind: 'ocpp', stationId: 'station-7' });
    const p2 = await read((tx) => tx.pile('P2'));
    expect(p2?.ocpp_station).toBe('station-7');
    expect(p2?.ocpp_password_sealed).not.toBeNull();
    await registry.setPileCharger('P2', null);
    expect((await read((tx) => tx.pile('P2')))?.ocpp_station).toBeNull();
  });

  it('refuses a duplicate vehicle and an unknown gateway with typed errors, writing nothing', async () => {
    await fleet();
    await expect(registry.addVehicle('V1', urls, T0)).rejects.toMatchObject({ code: 'EXISTS' });
    await expect(registry.addPile('P9', testPileSpec({ gid: 'nope' }), T0)).rejects.toBeInstanceOf(
      RegistryError,
    );
    expect(await read((tx) => tx.pileIds())).toEqual(['P1', 'P2', 'P3']);
    expect((await read((tx) => tx.recentAudit(100))).filter((a) => a.subject === 'P9')).toEqual([]);
  });

  it('rolls a unit back when it throws, and keeps its records apart from the next unit', async () => {
    await expect(
      registry.store.transaction(async (tx) => {
        await tx.putRetained('t', 'lost', 1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await registry.store.transaction((tx) => tx.setRetained('t', 'kept', 1))).toBe(true);
    expect(await registry.store.transaction((tx) => tx.setRetained('t', 'kept', 2))).toBe(false);
    expect(await read((tx) => tx.retainedSince(0))).toEqual([
      { rev: expect.any(Number), topic: 't', payload: 'kept' },
    ]);
  });

  it('refuses a tx used after its unit, and a write in a read unit', async () => {
    let kept: CloudTx | undefined;
    await registry.store.transaction(async (tx) => {
      kept = tx;
    });
    await expect(kept!.putRetained('t', 'late', 1)).rejects.toThrow(/outside its unit of work/);
    await expect(registry.store.read((tx) => (tx as CloudTx).putRetained('t', 'x', 1))).rejects.toThrow(
      /cannot write/,
    );
    expect(await read((tx) => tx.retainedSince(0))).toEqual([]);
  });

  it('remembers a nonce once, and forgets old ones', async () => {
    const { store } = registry;
    expect(await store.transaction((tx) => tx.rememberNonce('V1', 'n', 100))).toBe(true);
    expect(await store.transaction((tx) => tx.rememberNonce('V1', 'n', 101))).toBe(false);
    expect(await store.transaction((tx) => tx.rememberNonce('V2', 'n', 101))).toBe(true);
    await store.transaction((tx) => tx.forgetNoncesBefore(101));
    expect(await store.transaction((tx) => tx.rememberNonce('V1', 'n', 102))).toBe(true);
  });
});
