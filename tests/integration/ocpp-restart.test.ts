/**
 * The gateway restarts in the middle of an OCPP session (a crash: nothing ended, the records stay open) while
 * the station charges on. The restarted gateway takes the session back before the station reconnects; the
 * station's reports, queued and live, carry it on, and its end closes it with a signed session.end whose energy
 * is the register's rise over the whole transaction, counted once.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../node/child-process.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { removeTempDirs } from '../../pile-gateway/testkit.js';
import { waitFor } from '../support/mqtt.js';
import { OcppSystem, ocppPile } from '../support/ocpp-system.js';

let system: OcppSystem | undefined;

afterEach(async () => {
  await system?.close();
  system = undefined;
});
afterAll(() => removeTempDirs());

const until = (check: () => boolean, ms = 3000) => waitFor(check, ms);

/** The restarted gateway listens where the station reconnects. */
async function restartingSystem(
  pid: string,
  stationId: string,
  ocpp: Record<string, unknown> = {},
  meterIntervalMs?: number,
) {
  const pile = ocppPile(pid, stationId);
  const system = new OcppSystem([pile], { port: await freePort(), ...ocpp }, meterIntervalMs);
  return { pile, system: await system.start() };
}

describe('gateway restart mid-session on OCPP', () => {
  it('2.0.1: the session resumes from the queued and live TransactionEvents and ends once, signed', async () => {
    const started = await restartingSystem('R1', 'CS-R1');
    system = started.system;
    const station = await system.station('CS-R1', 'ocpp2.0.1', { signed: true });
    const car = await system.vehicle('car-r1', started.pile);
    await station.plug(1);
    const outcome = await car.authenticate('R1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    const session = outcome.session;
    while ((session.lastMeter?.reading.wh ?? 0) < 10) await session.once('meter');
    await station.disconnect();
    await system.crashGateway();
    await new Promise((r) => setTimeout(r, 300)); // the station charges on, queueing its events
    await system.startGateway();
    const before = session.lastMeter?.reading.wh ?? 0;
    await station.reconnect();
    // the readings go on from the station's register, past what was signed before the crash
    const tx = station.tx.get(1)!;
    await until(
      () => (session.lastMeter?.reading.wh ?? 0) >= station.register.get(1)! - tx.startRegister - 10,
    );
    expect(session.lastMeter!.reading.wh).toBeGreaterThan(before);
    const receipt = await session.stop();
    const ended = station.ended[0]!;
    expect(receipt.receipt.reason).toBe('stopped');
    expect(receipt.receipt.wh).toBe(ended.endRegister - ended.startRegister);
    expect(session.rejected).toEqual([]);
    expect(station.stops).toHaveLength(1); // its own stop, nothing stopped as an orphan
    const store = new SessionStore(path.join(system.dir, 'data'));
    const record = store.get(session.sid);
    store.closeDatabase();
    expect(record).toMatchObject({ state: 'closed', reason: 'stopped', lastWh: receipt.receipt.wh });
    // the meter's signed Begin (before the crash) and End (after it) are both on the record
    const signed = JSON.parse(record?.chargerSigned ?? '[]') as { context: string }[];
    expect(signed.map((s) => s.context)).toEqual(['Transaction.Begin', 'Transaction.End']);
  });

  it('1.6: MeterValues after the restart carry the session on, StopTransaction closes it', async () => {
    const started = await restartingSystem('R2', 'CP-R2');
    system = started.system;
    const station = await system.station('CP-R2', 'ocpp1.6');
    const car = await system.vehicle('car-r2', started.pile);
    await station.plug(1);
    const outcome = await car.authenticate('R2', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    const session = outcome.session;
    while ((session.lastMeter?.reading.wh ?? 0) < 10) await session.once('meter');
    await station.disconnect();
    await system.crashGateway();
    await system.startGateway();
    await station.reconnect();
    const before = session.lastMeter?.reading.wh ?? 0;
    while ((session.lastMeter?.reading.wh ?? 0) < before + 20) await session.once('meter');
    await station.endTx(station.tx.get(1)!, 'Local'); // the driver stops at the station
    const receipt = await session.ended;
    const ended = station.ended[0]!;
    expect(receipt.receipt.reason).toBe('charger-stopped');
    expect(receipt.receipt.wh).toBe(ended.endRegister - ended.startRegister);
    expect(session.rejected).toEqual([]);
  });

  it('takes back a session that crashed right after its start, before any reading was signed again', async () => {
    // Readings every 4 s: none is signed between the start and the crash.
    const started = await restartingSystem('R4', 'CS-R4', {}, 4000);
    system = started.system;
    const station = await system.station('CS-R4', 'ocpp2.0.1');
    const car = await system.vehicle('car-r4', started.pile);
    await station.plug(1);
    const outcome = await car.authenticate('R4', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    // The station's Started event (with the start register) is answered: the crash comes at once after it.
    await until(() => station.answers.some((a) => a.method === 'TransactionEvent'));
    await station.disconnect();
    await system.crashGateway();
    await system.startGateway();
    await station.reconnect();
    // it runs on (had it not been taken back, it would have ended with reason gateway-restart)
    const next = await Promise.race([
      outcome.session.once('meter').then(() => 'meter'),
      outcome.session.ended.then((end) => end.receipt.reason),
    ]);
    expect(next).toBe('meter');
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    const receipt = await outcome.session.stop();
    const ended = station.ended[0]!;
    expect(receipt.receipt.reason).toBe('stopped');
    expect(receipt.receipt.wh).toBe(ended.endRegister - ended.startRegister);
  });

  it('ends the taken-back session after the grace when the station does not come back', async () => {
    const started = await restartingSystem('R3', 'CS-R3', { offlineGraceMs: 800 });
    system = started.system;
    const station = await system.station('CS-R3', 'ocpp2.0.1');
    const car = await system.vehicle('car-r3', started.pile);
    await station.plug(1);
    const outcome = await car.authenticate('R3', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    await station.disconnect();
    await system.crashGateway();
    await system.startGateway();
    const receipt = await outcome.session.ended;
    expect(receipt.receipt.reason).toBe('charger-offline');
    expect(receipt.receipt.wh).toBe(outcome.session.lastMeter?.reading.wh);
  });
});
