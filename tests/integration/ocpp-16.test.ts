/**
 * OCPP 1.6-J stations behind the real gateway and broker, a vehicle client, and the endpoint's defences: refused
 * upgrades, schema-invalid calls and starts nobody asked for (a gateway restart mid-session: ocpp-restart.test.ts).
 */
import { RPCClient } from 'ocpp-rpc';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../../pile-gateway/testkit.js';
import { waitFor } from '../support/mqtt.js';
import { OcppSystem, ocppPile, STATION_PASSWORD } from '../support/ocpp-system.js';

let system: OcppSystem | undefined;

afterEach(async () => {
  await system?.close();
  system = undefined;
});
afterAll(() => removeTempDirs());

const until = (check: () => boolean, ms = 3000) => waitFor(check, ms);

describe('OCPP 1.6 station', () => {
  it('charges through RemoteStart, StartTransaction, MeterValues and RemoteStop', async () => {
    const pile = ocppPile('L1', 'CP-16');
    system = await new OcppSystem([pile]).start();
    const station = await system.station('CP-16', 'ocpp1.6', { signed: true });
    const car = await system.vehicle('car-l1', pile);
    const unplugged = await car.authenticate('L1', 1);
    expect(unplugged.ok ? 'ok' : unplugged.code).toBe('CONNECTOR_BUSY');
    await station.plug(1); // Preparing
    await system.statusOf(car, 'L1', (c) => c[0]?.plugged === true && c[0].state === 'available');
    const outcome = await car.authenticate('L1', 1);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    const tid = car.credentials.get('L1')!.tid;
    expect(station.starts[0]).toEqual({ idTag: tid.slice(0, 20), connectorId: 1 });
    await until(() => station.tx.has(1));
    const startAnswer = station.answers.find((a) => a.method === 'StartTransaction')?.answer;
    expect(startAnswer).toMatchObject({ idTagInfo: { status: 'Accepted' } });
    while ((outcome.session.lastMeter?.reading.wh ?? 0) < 20) await outcome.session.once('meter');
    const receipt = await outcome.session.stop();
    const tx = station.ended[0]!;
    expect(station.stops[0]).toEqual({ transactionId: Number(tx.id) });
    expect(receipt.receipt.reason).toBe('stopped');
    expect(receipt.receipt.wh).toBe(tx.endRegister - tx.startRegister);
  });

  it('refuses a StartTransaction the gateway did not ask for (no free charging)', async () => {
    const pile = ocppPile('L2', 'CP-free');
    system = await new OcppSystem([pile]).start();
    const station = await system.station('CP-free', 'ocpp1.6');
    await station.plug(2);
    const answer = (await station.call('StartTransaction', {
      connectorId: 2,
      idTag: 'SOMEONE-ELSES-CARD',
      meterStart: 5000,
      timestamp: new Date().toISOString(),
    })) as { transactionId: number; idTagInfo: { status: string } };
    expect(answer.idTagInfo.status).toBe('Invalid');
    // and should the station charge anyway, the gateway stops it
    await until(() => station.stops.length === 1);
    expect(station.stops[0]).toEqual({ transactionId: answer.transactionId });
  });
});

describe('OCPP endpoint', () => {
  it('refuses unknown stations and wrong passwords at the upgrade, and answers schema-invalid calls', async () => {
    const pile = ocppPile('E1', 'CS-E1');
    system = await new OcppSystem([pile]).start();
    const attempt = async (identity: string, password: string, protocol = 'ocpp2.0.1') => {
      const client = new RPCClient({
        endpoint: system!.endpoint,
        identity,
        password,
        protocols: [protocol],
        reconnect: false,
      } as ConstructorParameters<typeof RPCClient>[0]);
      try {
        await client.connect();
        return 'connected';
      } catch (error) {
        return String((error as { code?: number }).code ?? (error as Error).message);
      } finally {
        await client.close({ force: true }).catch(() => undefined);
      }
    };
    expect(await attempt('CS-E1', 'wrong-password-0000')).toBe('401');
    expect(await attempt('NOBODY', STATION_PASSWORD)).toBe('401');
    expect(await attempt('CS-E1', STATION_PASSWORD, 'ocpp1.5')).toBe('400');
    // A station with the right password that sends calls its schema forbids gets OCPP errors, not a crash.
    const station = await system.station('CS-E1', 'ocpp2.0.1');
    const raw = new RPCClient({
      endpoint: system.endpoint,
      identity: 'CS-E1',
      password: STATION_PASSWORD,
      protocols: ['ocpp2.0.1'],
      reconnect: false,
    } as ConstructorParameters<typeof RPCClient>[0]);
    await raw.connect();
    try {
      const error = await raw
        .call('StatusNotification', { evseId: 'one', connectorStatus: 'Plugged' })
        .catch((e: { rpcErrorCode?: string }) => e.rpcErrorCode);
      // the library's code for the first broken constraint (e.g. TypeConstraintViolation)
      expect(error).toMatch(/Violation$/);
      const unhandled = await raw
        .call('DataTransfer', { vendorId: 'acme' })
        .catch((e: { rpcErrorCode?: string }) => e.rpcErrorCode);
      expect(unhandled).toBe('NotImplemented');
      const unknown = await raw
        .call('NoSuchAction', {})
        .catch((e: { rpcErrorCode?: string }) => e.rpcErrorCode);
      expect(unknown).toBe('ProtocolError');
      const heartbeat = (await raw.call('Heartbeat', {})) as { currentTime: string };
      expect(Date.parse(heartbeat.currentTime)).toBeGreaterThan(0);
    } finally {
      await raw.close({ force: true });
    }
    const health = await (await fetch(`http://127.0.0.1:${system.gateway.httpPort}/healthz`)).json();
    expect(health.ok).toBe(true);
    expect(station.plugged.size).toBe(0);
  });
});
