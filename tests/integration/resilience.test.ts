/** Broker restarted mid-session, and a gateway killed with SIGKILL mid-session. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChargingSession } from '../../head-unit/vehicle/index.js';
import { SessionStore } from '../../pile-gateway/store.js';
import { receiptPage as pageOf } from '../support/receipts.js';
import { credentialFor, GID, TestSystem } from '../support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({ meterIntervalMs: 100 }).start();
});

afterAll(async () => {
  await system?.close();
});

async function meters(session: ChargingSession, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (session.meters.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${session.meters.length} of ${count} readings`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('resilience', () => {
  it('a broker restart mid-session: the session continues and every reading verifies', async () => {
    const car = await system.addVehicle('RES-BRK', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P1');
    const outcome = await client.authenticate('IT-P1', 1);
    if (!outcome.ok) throw new Error(outcome.message);
    const session = outcome.session;
    await meters(session, 3);
    const states: string[] = [];
    client.on('connection', ({ state }) => states.push(state));
    await system.broker.stop('SIGTERM');
    const before = session.meters.length;
    await system.startBroker();
    await meters(session, before + 5, 15_000);
    expect(states).toContain('connected');
    const receipt = await session.stop();
    expect(receipt.receipt.reason).toBe('stopped');
    expect(session.rejected).toEqual([]);
    const seqs = session.meters.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(receipt.receipt.wh).toBeGreaterThanOrEqual(session.lastMeter!.reading.wh);
  }, 40_000);

  it('a gateway killed with SIGKILL: the record survives and the restart closes it with a signed session.end', async () => {
    const car = await system.addVehicle('RES-GW', { scope: 'all' });
    const client = await system.vehicle(car);
    await credentialFor(client, 'IT-P2');
    // a receipt of the pile before the kill: its OCMF pagination (PG) must go on rising after it
    const earlier = await client.authenticate('IT-P2', 1);
    if (!earlier.ok) throw new Error(earlier.message);
    await meters(earlier.session, 1);
    const earlierPage = pageOf(await earlier.session.stop());
    const outcome = await client.authenticate('IT-P2', 2);
    if (!outcome.ok) throw new Error(outcome.message);
    const session = outcome.session;
    await meters(session, 4);
    const offline = new Promise<void>((resolve) => {
      client.on('gateway-status', ({ gid, status }) => {
        if (gid === GID && status?.online === false) resolve();
      });
    });
    await system.gateway.stop('SIGKILL');
    await offline; // the MQTT will
    const lastSeen = session.lastMeter!.reading.wh;

    const store = new SessionStore(path.join(system.gatewayDir, 'data'));
    const record = store.get(session.sid);
    store.closeDatabase();
    expect(record?.state).toBe('open');
    expect(record?.lastWh).toBeGreaterThanOrEqual(lastSeen);

    await system.startGateway();
    const receipt = await session.ended;
    expect(receipt.receipt.reason).toBe('gateway-restart');
    expect(receipt.receipt.wh).toBe(record?.lastWh);
    expect(session.rejected).toEqual([]);
    // signed in OCMF and verified by the car, its PG above every one before the kill (PROTOCOL §8a)
    expect(receipt.signedByCharger).toBe(true);
    const recoveredPage = pageOf(receipt);
    expect(recoveredPage).toBeGreaterThan(earlierPage);
    const after = new SessionStore(path.join(system.gatewayDir, 'data'));
    const closed = after.get(session.sid);
    after.closeDatabase();
    expect(closed?.state).toBe('closed');
    expect(closed?.reason).toBe('gateway-restart');
    // the connector is free again
    const next = await client.authenticate('IT-P2', 2);
    if (!next.ok) throw new Error(next.message);
    expect(pageOf(await next.session.stop())).toBeGreaterThan(recoveredPage);
  }, 40_000);
});
