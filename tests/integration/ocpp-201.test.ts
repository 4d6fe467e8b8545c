/**
 * OCPP 2.0.1 stations behind the real gateway and broker, with a vehicle client: the session's energy is the
 * station's register, the plug decides which connector can be authorised, and faults end or refuse cleanly.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
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

describe('OCPP 2.0.1 station', () => {
  it('charges a plugged-in car from the station’s own meter, end to end', async () => {
    const pile = ocppPile('O1', 'CS-201');
    system = await new OcppSystem([pile]).start();
    const station = await system.station('CS-201', 'ocpp2.0.1', { signed: true });
    const car = await system.vehicle('car-o1', pile);
    await station.plug(2);
    await system.statusOf(car, 'O1', (c) => c[1]?.plugged === true && c[1].state === 'available');
    const outcome = await car.authenticate('O1', 2);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    // The gateway asked the station for exactly this: the ticket's id as a Central idToken on EVSE 2.
    expect(station.starts[0]).toMatchObject({ evseId: 2, idToken: { type: 'Central' } });
    const session = outcome.session;
    while ((session.lastMeter?.reading.wh ?? 0) < 20) await session.once('meter');
    const receipt = await session.stop();
    const tx = station.ended[0]!;
    expect(tx.reason).toBe('Remote');
    expect(receipt.receipt.reason).toBe('stopped');
    // energy = the register's rise over the transaction, exactly
    expect(receipt.receipt.wh).toBe(tx.endRegister - tx.startRegister);
    expect(receipt.receipt.wh).toBeGreaterThanOrEqual(20);
    expect(session.rejected).toEqual([]);
    // the charger's own signed readings are kept on the record, unchanged
    const store = new SessionStore(path.join(system.dir, 'data'));
    const record = store.get(session.sid);
    store.closeDatabase();
    const signed = JSON.parse(record?.chargerSigned ?? '[]') as {
      signedMeterData: string;
      context: string;
    }[];
    expect(signed.map((s) => s.context)).toEqual(['Transaction.Begin', 'Transaction.End']);
    expect(signed[1]?.signedMeterData).toMatch(/^OCMF\|/);
    // the receipt: the pile's own OCMF record, verified by the car, and the meter's end record untouched
    expect(receipt.signedByCharger).toBe(true);
    expect(receipt.receipt.meterOcmf).toBe(signed[1]?.signedMeterData);
  });

  it('authorises only the connector with a cable in it (plug first)', async () => {
    const pile = ocppPile('O2', 'CS-plug');
    system = await new OcppSystem([pile]).start();
    const station = await system.station('CS-plug', 'ocpp2.0.1', { txOnPlug: true });
    const car = await system.vehicle('car-o2', pile);
    await system.statusOf(car, 'O2', (c) => c.length === 2 && c.every((x) => x.plugged === false));
    const refused = await car.authenticate('O2', 1);
    expect(refused.ok ? 'ok' : refused.code).toBe('CONNECTOR_BUSY');
    expect(station.starts).toEqual([]);
    // The cable goes into connector 1; the station opens its transaction at plug-in (TxStartPoint EVConnected).
    await station.plug(1);
    await system.statusOf(car, 'O2', (c) => c[0]?.plugged === true);
    const neighbour = await car.authenticate('O2', 2);
    expect(neighbour.ok ? 'ok' : neighbour.code).toBe('CONNECTOR_BUSY');
    const outcome = await car.authenticate('O2', 1);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    // The car pulls the cable: the station ends the transaction, the receipt says why.
    await station.unplug(1);
    const receipt = await outcome.session.ended;
    expect(receipt.receipt.reason).toBe('unplugged');
    const tx = station.ended[0]!;
    expect(receipt.receipt.wh).toBe(tx.endRegister - tx.startRegister);
  });

  it('gives the car a MACed error and energises nothing when the station rejects or does not answer', async () => {
    const piles = [ocppPile('O3', 'CS-no'), ocppPile('O4', 'CS-mute')];
    system = await new OcppSystem(piles).start();
    const rejecting = await system.station('CS-no', 'ocpp2.0.1', { onStart: 'reject' });
    const mute = await system.station('CS-mute', 'ocpp2.0.1', { onStart: 'silent' });
    const car = await system.vehicle('car-o3', piles[0]!);
    await rejecting.plug(1);
    const refused = await car.authenticate('O3', 1);
    expect(refused.ok ? 'ok' : refused.code).toBe('CONNECTOR_BUSY');
    expect(refused.ok ? false : refused.authenticated).toBe(true); // MACed: the genuine pile said it
    expect(rejecting.tx.size).toBe(0);
    const other = await system.vehicle('car-o4', piles[1]!);
    await mute.plug(1);
    const started = Date.now();
    const timedOut = await other.authenticate('O4', 1);
    expect(timedOut.ok ? 'ok' : timedOut.code).toBe('TIMEOUT');
    expect(timedOut.ok ? false : timedOut.authenticated).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000); // within the car's step
    expect(mute.tx.size).toBe(0);
    // the connector is free again
    await system.statusOf(other, 'O4', (c) => c[0]?.state === 'available');
  });

  it('keeps the session through a disconnect and counts the queued events once', async () => {
    const pile = ocppPile('O5', 'CS-away');
    system = await new OcppSystem([pile]).start();
    const station = await system.station('CS-away', 'ocpp2.0.1');
    const car = await system.vehicle('car-o5', pile);
    await station.plug(1);
    const outcome = await car.authenticate('O5', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    await station.disconnect();
    await system.statusOf(car, 'O5', (c) => c[0]?.state === 'charging');
    await new Promise((r) => setTimeout(r, 400)); // the station meters on, offline
    const tx = station.tx.get(1)!;
    await station.endTx(tx, 'Local'); // and ends it, offline
    expect(outcome.session.receipt).toBeUndefined();
    await station.reconnect();
    const receipt = await outcome.session.ended;
    const ended = station.ended[0]!;
    expect(receipt.receipt.wh).toBe(ended.endRegister - ended.startRegister);
    expect(receipt.receipt.reason).toBe('charger-stopped');
    expect(receipt.signedByCharger).toBe(true);
    // queued events sent again change nothing
    const seen = outcome.session.meters.length;
    await station.client.call('TransactionEvent', {
      eventType: 'Updated',
      timestamp: new Date().toISOString(),
      triggerReason: 'MeterValuePeriodic',
      seqNo: 1,
      offline: true,
      transactionInfo: { transactionId: ended.id },
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: 1e9 }] }],
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(outcome.session.meters.length).toBe(seen);
  });

  it('ends a session whose station stays away past the grace, with the last known energy', async () => {
    const pile = ocppPile('O6', 'CS-gone');
    system = await new OcppSystem([pile], { offlineGraceMs: 600 }).start();
    const station = await system.station('CS-gone', 'ocpp2.0.1');
    const car = await system.vehicle('car-o6', pile);
    await station.plug(1);
    const outcome = await car.authenticate('O6', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 10) await outcome.session.once('meter');
    const lastSigned = () => outcome.session.lastMeter?.reading.wh ?? 0;
    await station.disconnect();
    const receipt = await outcome.session.ended;
    expect(receipt.receipt.reason).toBe('charger-offline');
    expect(receipt.signedByCharger).toBe(true);
    expect(receipt.receipt.wh).toBe(lastSigned());
    // Back online, the transaction still runs with no session: the gateway stops it (no free charging).
    await station.reconnect();
    await until(() => station.tx.size === 0);
    expect(station.stops).toHaveLength(1);
  });
});
