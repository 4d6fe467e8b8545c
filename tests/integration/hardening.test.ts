/**
 * Issue #13 on the running system (broker, gateway as processes; the cloud service; real SQLite): each test does
 * what the attack did and asserts the opposite outcome.
 * - finding 5: a vehicle holds one open session per pile and per site (a second is RATE_LIMITED); a session whose
 *   vehicle is gone (its socket closed, no stop) ends with a signed receipt when the cable comes out;
 * - finding 6: forged requests (self-made tickets for invented vehicles, a real vehicle's id without its AK) do
 *   not make a genuine vehicle get CONNECTOR_BUSY;
 * - finding 7: a credential.request flood with bad MACs naming another vehicle sends it no denial, stores no
 *   nonce, and the victim's genuine request is answered at once, through the broker's default limits.
 * Finding 2 is in tests/integration/start.test.ts (it needs `npm start` itself).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VehicleClient } from '../../head-unit/vehicle/index.js';
import { SessionStore } from '../../pile-gateway/store.js';
import {
  b64uDecode,
  buildAuthRequest,
  buildCredentialRequest,
  deriveVehicleMacKey,
  secureRandom,
  topics,
  type VehicleProvisioning,
  verifyReceipt,
} from '../../shared/index.js';
import { issueTestCredential } from '../../shared/testing.js';
import { collect, connectClient, waitFor } from '../support/mqtt.js';
import { OcppSystem, ocppPile } from '../support/ocpp-system.js';
import { RawVehicle } from '../support/raw-vehicle.js';
import { credentialFor, SITE_A, SITE_B, TestSystem } from '../support/system.js';

let system: TestSystem;
let carA: VehicleProvisioning;
let carB: VehicleProvisioning;
let mallory: VehicleProvisioning;
let clientB: VehicleClient;

const nowS = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  system = await new TestSystem().start();
  carA = await system.addVehicle('HD-A', { scope: 'all' });
  carB = await system.addVehicle('HD-B', { scope: 'site', target: SITE_A });
  mallory = await system.addVehicle('HD-MALLORY', { scope: 'site', target: SITE_B });
  clientB = await system.vehicle(carB);
  await credentialFor(clientB, 'IT-P1');
});

afterAll(async () => {
  await system?.close();
});

/** An operator action on the gateway's HTTP side, with the config's bearer token where it has one. */
async function operate(pid: string, connector: number, verb: 'plug' | 'unplug'): Promise<number> {
  const config = JSON.parse(fs.readFileSync(path.join(system.gatewayDir, 'config.json'), 'utf8'));
  const token: string | undefined = config.http?.token;
  const response = await fetch(
    `http://127.0.0.1:${system.gatewayHttpPort}/piles/${pid}/connectors/${connector}/${verb}`,
    { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} },
  );
  return response.status;
}

/** How many requests the gateway's piles refused with BAD_REQUEST_MAC (the per-pile counts, PROTOCOL §6). */
async function refusedBadMac(): Promise<number> {
  const line = (await system.gatewayMetrics())
    .split('\n')
    .find(
      (l) => l.startsWith('evauth_gateway_requests_refused_total{') && l.includes('code="BAD_REQUEST_MAC"'),
    );
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** The gateway's durable record of a session, read as an auditor would. */
function storedSession(sid: string) {
  const store = new SessionStore(path.join(system.gatewayDir, 'data'));
  try {
    return store.get(sid);
  } finally {
    store.closeDatabase();
  }
}

describe('finding 5: one open session per vehicle, and none outlives its vehicle', () => {
  it('refuses a second concurrent session on the pile and on the site with RATE_LIMITED', async () => {
    const clientA = await system.vehicle(carA);
    for (const pid of ['IT-P1', 'IT-P2', 'IT-P3']) await credentialFor(clientA, pid);
    const first = await clientA.authenticate('IT-P1', 1);
    if (!first.ok) throw new Error(first.message);

    // The attack: the same vehicle takes another connector of the pile, and piles across the site.
    for (const [pid, connector] of [
      ['IT-P1', 2],
      ['IT-P2', 1],
      ['IT-P3', 2],
    ] as const) {
      const again = await clientA.authenticate(pid, connector);
      expect(again.ok ? 'ok' : again.code, `${pid}/${connector}`).toBe('RATE_LIMITED');
    }
    // Another vehicle is not held back: the connector A asked for is free for it.
    const other = await clientB.authenticate('IT-P1', 2);
    if (!other.ok) throw new Error(other.message);
    expect((await other.session.stop()).receipt.reason).toBe('stopped');

    // Once A's session ended, A may charge elsewhere.
    expect((await first.session.stop()).receipt.reason).toBe('stopped');
    const next = await clientA.authenticate('IT-P2', 1);
    if (!next.ok) throw new Error(next.message);
    expect((await next.session.stop()).receipt.reason).toBe('stopped');
  }, 30_000);

  it('ends a vanished vehicle’s session (socket gone, no stop) with a signed receipt when the cable is out', async () => {
    const clientA = await system.vehicle(carA);
    await credentialFor(clientA, 'IT-P2');
    const outcome = await clientA.authenticate('IT-P2', 2);
    if (!outcome.ok) throw new Error(outcome.message);
    const sid = outcome.session.sid;
    // The car drives off: its connection is gone without a session.stop, then the cable comes out.
    await clientA.close();
    expect(storedSession(sid)?.state).toBe('open');
    expect(await operate('IT-P2', 2, 'unplug')).toBe(200);
    const record = await waitFor(
      () => {
        const r = storedSession(sid);
        return r?.state === 'closed' ? r : undefined;
      },
      5000,
      'the session closed',
    );
    expect(record.reason).toBe('unplugged');
    const end = JSON.parse(record.receipt ?? '{}') as { body: string; mac: string };
    expect(verifyReceipt(record.sk, b64uDecode(sid), end.body, end.mac)).toBe(true);
    expect(JSON.parse(end.body).reason).toBe('unplugged');
    expect(await operate('IT-P2', 2, 'plug')).toBe(200);
  }, 30_000);
});

describe('finding 5 with a plug-first charger (OCPP 2.0.1)', () => {
  it('ends the session when the station reports the cable out, though it keeps its transaction open', async () => {
    const pile = ocppPile('HD-O1', 'CS-HD');
    const ocpp = await new OcppSystem([pile]).start();
    try {
      const station = await ocpp.station('CS-HD', 'ocpp2.0.1');
      const car = await ocpp.vehicle('car-hd', pile);
      await station.plug(1);
      await ocpp.statusOf(car, 'HD-O1', (c) => c[0]?.plugged === true && c[0].state === 'available');
      const outcome = await car.authenticate('HD-O1', 1);
      if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
      // The car leaves without a stop; this station only reports the connector Available (cable out).
      station.plugged.delete(1);
      await station.status(1);
      const receipt = await outcome.session.ended;
      expect(receipt.receipt.reason).toBe('unplugged');
      // The gateway asked the station to end the transaction it had left open.
      expect(station.ended[0]?.reason).toBe('Remote');
    } finally {
      await ocpp.close();
    }
  }, 30_000);
});

describe('finding 6: forged requests do not block genuine vehicles', () => {
  it('self-made tickets for invented vehicles and a real vehicle’s id without its AK leave the connectors free', async () => {
    const attacker = await RawVehicle.connect(mallory, system.mqttUrl);
    try {
      // Within the broker's per-connection burst (20), so every forgery reaches the pile.
      const refusedBefore = await refusedBadMac();
      let forged = 0;
      for (let i = 0; i < 16; i++) {
        const vid = i % 2 === 0 ? `INVENTED-${i}` : carB.vid;
        const fake = issueTestCredential(
          secureRandom(32),
          { vid, pid: 'IT-P1', off: 0, iat: nowS(), nbf: nowS(), exp: nowS() + 3600 },
          secureRandom,
        );
        attacker.send(
          'IT-P1',
          buildAuthRequest(fake.ak, {
            sid: secureRandom(16),
            r1: secureRandom(16),
            vid,
            pid: 'IT-P1',
            connector: 1 + (i % 2),
            ticket: fake.ticket,
            ts: nowS(),
          }),
        );
        forged++;
      }
      const deadline = Date.now() + 5000;
      while ((await refusedBadMac()) - refusedBefore < forged) {
        if (Date.now() > deadline) throw new Error('the forgeries were not all refused at step 5');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Right after, inside the 10 s the forgeries used to hold the pending slots: both connectors are free.
      for (const connector of [1, 2]) {
        const outcome = await clientB.authenticate('IT-P1', connector);
        if (!outcome.ok) throw new Error(`connector ${connector}: ${outcome.code} ${outcome.message}`);
        expect((await outcome.session.stop()).receipt.reason).toBe('stopped');
      }
    } finally {
      await attacker.close();
    }
  }, 30_000);
});

describe('finding 7: a credential.request flood naming another vehicle', () => {
  it('sends the victim no denial, stores nothing, and its genuine request is answered at once', async () => {
    const victim = await connectClient(system.mqttUrl, carB.mqtt.username, carB.mqtt.password);
    const seen = collect(victim);
    await victim.subscribeAsync(topics.vehicleAll(carB.vid), { qos: 1 });
    const attacker = await connectClient(system.mqttUrl, mallory.mqtt.username, mallory.mqtt.password, {
      reconnectPeriod: 0,
    });
    const db = new Database(path.join(system.dataDir, 'cloud.db'), { readonly: true });
    const nonces = db.prepare('SELECT COUNT(*) FROM request_nonces').pluck();
    const answers = () => seen.filter((m) => m.topic === topics.credential(carB.vid, 'IT-P2')).length;
    try {
      // The credential retained for it comes first; the answer to its request is the one after.
      await waitFor(() => answers() > 0 || undefined, 5000, 'the retained credential');
      const retained = answers();
      const before = nonces.get() as number;
      // MACed under the attacker's own key, naming the victim: the broker lets its burst through, then cuts it.
      const wrongKey = deriveVehicleMacKey(b64uDecode(mallory.vehicleKey), carB.vid);
      for (let i = 0; i < 200 && attacker.connected; i++) {
        attacker.publish(
          topics.credentialRequests(),
          JSON.stringify(buildCredentialRequest(wrongKey, carB.vid, 'IT-P2', nowS(), (n) => randomBytes(n))),
          { qos: 0 },
        );
      }
      const genuine = buildCredentialRequest(
        deriveVehicleMacKey(b64uDecode(carB.vehicleKey), carB.vid),
        carB.vid,
        'IT-P2',
        nowS(),
        (n) => randomBytes(n),
      );
      const asked = Date.now();
      await victim.publishAsync(topics.credentialRequests(), JSON.stringify(genuine), { qos: 1 });
      await waitFor(() => answers() > retained || undefined, 2000, 'the genuine request answered');
      expect(Date.now() - asked).toBeLessThan(2000);
      // Let whatever of the flood got through be handled before counting.
      await new Promise((r) => setTimeout(r, 500));
      expect(seen.filter((m) => m.topic === topics.vehicleCloud(carB.vid))).toEqual([]);
      expect(nonces.get()).toBe(before + 1);
    } finally {
      db.close();
      attacker.end(true);
      await victim.endAsync();
    }
  }, 30_000);
});
