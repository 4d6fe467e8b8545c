/**
 * The gateway's commit point on its own: a real PileAuthenticator and vehicle (shared's fixture), a real SQLite
 * session store, the simulator as the charger, and one that must confirm the start as an OCPP station does.
 * What the vehicle receives is what SessionStarts publishes.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorld, onlySent, PID } from '../shared/handshake/fixture.test-support.js';
import type { AuthorizedSession } from '../shared/index.js';
import type { ActiveSession } from './active-session.js';
import { type ChargerController, ChargerStartError, SimulatedCharger } from './charger.js';
import { createMetrics } from './metrics.js';
import { SessionStarts } from './session-start.js';
import { SessionStore } from './store.js';
import { removeTempDirs, tempDir } from './testkit.js';
import { VehicleSessions } from './vehicle-sessions.js';

afterAll(removeTempDirs);

/** A simulator whose start the test accepts or refuses, as a station answers RequestStartTransaction. */
class ConfirmingCharger extends SimulatedCharger {
  answer!: { accept(): void; refuse(error: Error): void };
  override energize(limits: Parameters<SimulatedCharger['energize']>[0]): Promise<void> {
    super.energize(limits);
    return new Promise((resolve, reject) => {
      this.answer = { accept: resolve, refuse: reject };
    });
  }
}

function setUp(charger: ChargerController | undefined) {
  const world = createWorld({ seed: 'session-start' });
  const dir = tempDir('session-start');
  const store = new SessionStore(dir);
  const published: string[] = [];
  const started: ActiveSession[] = [];
  const ledger = new VehicleSessions();
  const starts = new SessionStarts({
    pid: PID,
    store,
    publish: (_topic, payload) => published.push(payload),
    now: world.clock.now,
    metrics: createMetrics('gw-test'),
    log: pino({ level: 'silent' }),
    authenticator: world.pile,
    vehicleSessions: ledger.forPile(PID),
    publishStatus: () => {},
    started: (active) => started.push(active),
  });
  const vehicle = world.vehicleFor(world.credentialFor());
  vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
  const response = vehicle.confirmOffer().payload;
  const authorized = world.pile.handle(response).find((o) => o.kind === 'authorized');
  const auth = (authorized as { session: AuthorizedSession }).session;
  /** What the vehicle makes of everything published so far. */
  const vehicleSees = () => published.splice(0).flatMap((p) => vehicle.receive(p));
  const start = () => starts.start(auth, charger);
  return { world, dir, store, starts, started, published, response, auth, vehicleSees, start, ledger };
}

describe('SessionStarts: the record, the charger, then the commit', () => {
  it('a charger that starts at once: the record is stored, the result goes out, duplicates get the same', () => {
    const t = setUp(new SimulatedCharger({ rampMs: 0, now: Date.now }));
    t.start();
    expect(t.store.get(t.auth.sid)?.state).toBe('open');
    const result = t.published[0];
    expect(t.vehicleSees().map((e) => e.kind)).toEqual(['authorized']);
    expect(t.started.map((a) => a.record.sid)).toEqual([t.auth.sid]);
    expect(onlySent(t.world.pile.handle(t.response))).toBe(result);
    t.store.closeDatabase();
  });

  it('a charger that must confirm: nothing until it accepts, not even for a duplicate response', async () => {
    const charger = new ConfirmingCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    t.start();
    expect(t.store.get(t.auth.sid)?.state).toBe('open');
    expect(t.world.pile.handle(t.response)).toEqual([]);
    await Promise.resolve();
    expect(t.published).toEqual([]);
    expect(t.started).toEqual([]);
    charger.answer.accept();
    await new Promise((r) => setImmediate(r));
    expect(t.published).toHaveLength(1);
    const result = t.published[0];
    expect(t.vehicleSees().map((e) => e.kind)).toEqual(['authorized']);
    expect(t.started).toHaveLength(1);
    expect(onlySent(t.world.pile.handle(t.response))).toBe(result);
    t.store.closeDatabase();
  });

  it('a refused start: MACed CONNECTOR_BUSY, a 0 Wh record, the connector free, nothing for duplicates', async () => {
    const charger = new ConfirmingCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    t.start();
    charger.answer.refuse(new ChargerStartError('REJECTED', 'station said no'));
    await new Promise((r) => setImmediate(r));
    const [failed] = t.vehicleSees();
    expect(failed).toMatchObject({ kind: 'failed', code: 'CONNECTOR_BUSY', authenticated: true });
    expect(t.store.get(t.auth.sid)).toMatchObject({ state: 'closed', reason: 'start-rejected', lastWh: 0 });
    expect(t.world.pile.isOccupied(1)).toBe(false);
    expect(charger.available).toBe(true);
    expect(t.world.pile.handle(t.response).map((o) => o.kind)).toEqual(['dropped']);
    expect(t.started).toEqual([]);
    t.store.closeDatabase();
  });

  it('an unanswered start is a MACed TIMEOUT with reason start-timeout', async () => {
    const charger = new ConfirmingCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    t.start();
    charger.answer.refuse(new ChargerStartError('TIMEOUT', 'no answer'));
    await new Promise((r) => setImmediate(r));
    expect(t.vehicleSees()[0]).toMatchObject({ kind: 'failed', code: 'TIMEOUT', authenticated: true });
    expect(t.store.get(t.auth.sid)?.reason).toBe('start-timeout');
    t.store.closeDatabase();
  });

  it('a controller that throws counts as a refusal', async () => {
    const charger = new SimulatedCharger({ rampMs: 0, now: Date.now });
    charger.energize = () => {
      throw new Error('CAN bus down');
    };
    const t = setUp(charger);
    t.start();
    await new Promise((r) => setImmediate(r));
    expect(t.vehicleSees()[0]).toMatchObject({ kind: 'failed', code: 'CONNECTOR_BUSY' });
    expect(t.world.pile.isOccupied(1)).toBe(false);
    t.store.closeDatabase();
  });

  it('a record that cannot be stored: MACed INTERNAL, the charger untouched, nothing for duplicates', () => {
    const charger = new SimulatedCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    // Another process holds the database's write lock past the store's busy wait.
    const lock = new Database(path.join(t.dir, 'sessions.db'));
    lock.exec('BEGIN EXCLUSIVE');
    try {
      t.start();
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    expect(t.vehicleSees()[0]).toMatchObject({ kind: 'failed', code: 'INTERNAL', authenticated: true });
    expect(charger.available).toBe(true);
    expect(t.world.pile.isOccupied(1)).toBe(false);
    expect(t.store.get(t.auth.sid)).toBeUndefined();
    expect(t.world.pile.handle(t.response).map((o) => o.kind)).toEqual(['dropped']);
    t.store.closeDatabase();
  });

  it('a vehicle whose other handshake opened a session first: MACed RATE_LIMITED, nothing stored or held', () => {
    const charger = new SimulatedCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    // Its two handshakes passed their requests' checks at once; the one at another pile of the site won.
    t.ledger.opened('its-other-session', t.auth.vid, 'OTHER-PILE');
    t.start();
    expect(t.vehicleSees()[0]).toMatchObject({ kind: 'failed', code: 'RATE_LIMITED', authenticated: true });
    expect(t.store.get(t.auth.sid)).toBeUndefined();
    expect(t.world.pile.isOccupied(1)).toBe(false);
    expect(charger.available).toBe(true);
    expect(t.started).toEqual([]);
    expect(t.ledger.size).toBe(1);
    t.store.closeDatabase();
  });

  it('counts a session from its start until a refusal closes it', async () => {
    const charger = new ConfirmingCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    t.start();
    expect(t.ledger.refusal(t.auth.vid, 'ANY-PILE')).toMatch(/at this site/);
    charger.answer.refuse(new ChargerStartError('REJECTED', 'station said no'));
    await new Promise((r) => setImmediate(r));
    expect(t.ledger.size).toBe(0);
    t.store.closeDatabase();
  });

  it('refuseAll at shutdown answers every start still waiting', async () => {
    const charger = new ConfirmingCharger({ rampMs: 0, now: Date.now });
    const t = setUp(charger);
    t.start();
    t.starts.refuseAll('gateway-shutdown');
    expect(t.vehicleSees()[0]).toMatchObject({ kind: 'failed', code: 'CONNECTOR_BUSY' });
    // The station's late acceptance changes nothing.
    charger.answer.accept();
    await new Promise((r) => setImmediate(r));
    expect(t.published).toEqual([]);
    expect(t.started).toEqual([]);
    t.store.closeDatabase();
  });
});
