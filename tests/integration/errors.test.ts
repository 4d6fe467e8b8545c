/**
 * Every error code of PROTOCOL §6 produced by a real scenario through the broker and a gateway process,
 * plus malformed payloads; the pile keeps serving afterwards. INTERNAL needs the gateway's own database to fail;
 * pile-gateway/gateway.test.ts produces it by locking the session store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VehicleClient } from '../../head-unit/vehicle/index.js';
import {
  type AuthRequest,
  b64uDecode,
  buildAuthAbort,
  buildAuthRequest,
  secureRandom,
  type VehicleCredential,
  VehicleHandshake,
  type VehicleProvisioning,
} from '../../shared/index.js';
import { craftedCredential, type Message, RawVehicle, randomB64u } from '../support/raw-vehicle.js';
import { credentialFor, TestSystem } from '../support/system.js';

let system: TestSystem;
let carA: VehicleProvisioning;
let carB: VehicleProvisioning;
let clientA: VehicleClient;
let rawA: RawVehicle;
let rawB: RawVehicle;

const nowS = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  system = await new TestSystem().start();
  carA = await system.addVehicle('ERR-A', { scope: 'all' });
  carB = await system.addVehicle('ERR-B', { scope: 'all' });
  clientA = await system.vehicle(carA);
  await credentialFor(clientA, 'IT-P1');
  await credentialFor(clientA, 'IT-P2');
  rawA = await RawVehicle.connect(carA, system.mqttUrl);
  rawB = await RawVehicle.connect(carB, system.mqttUrl);
});

afterAll(async () => {
  await rawA?.close();
  await rawB?.close();
  await system?.close();
});

function handshake(vid: string, credential: VehicleCredential, connector = 1) {
  return new VehicleHandshake({ vid, credential, connector, now: Date.now, random: secureRandom });
}

/** Sends a request built from `credential` (optionally altered) and returns the pile's first answer. */
async function requestWith(
  raw: RawVehicle,
  credential: VehicleCredential,
  options: { pid?: string; connector?: number; alter?: (m: Message) => void } = {},
): Promise<Message> {
  const hs = handshake(raw.vid, credential, options.connector ?? 1);
  const request = JSON.parse(hs.start().payload) as Message;
  options.alter?.(request);
  raw.send(options.pid ?? credential.pid, request);
  return raw.next((m) => m.sid === request.sid);
}

const rootKey = async (pid: string) => (await system.registry.keystoreEntry(pid)).rootKey;

describe('§6 error codes through the broker', () => {
  it('MALFORMED: wrong types and bad base64url are answered; not-JSON and oversize are dropped', async () => {
    const vid = carA.vid;
    rawA.send('IT-P1', { v: 1, type: 'auth.request', vid, sid: 7, pid: 'IT-P1', connector: 'one' });
    expect((await rawA.next()).code).toBe('MALFORMED');
    const credential = clientA.usableCredential('IT-P1')!;
    const badB64 = await requestWith(rawA, credential, {
      alter: (m) => {
        m.ticket = `${String(m.ticket).slice(0, -2)}*!`;
      },
    });
    expect(badB64.code).toBe('MALFORMED');
    rawA.send('IT-P1', 'this is not json');
    rawA.send('IT-P1', JSON.stringify({ v: 1, type: 'auth.request', vid, pad: 'x'.repeat(9000) }));
    rawA.send('IT-P1', '[1,2,3]');
    await new Promise((r) => setTimeout(r, 300));
    expect(rawA.pending()).toEqual([]);
    const metrics = await system.gatewayMetrics();
    expect(metrics).toMatch(/evauth_gateway_messages_dropped_total\{reason="malformed",gid="gw-it"\} [3-9]/);
    expect(metrics).toMatch(
      /evauth_gateway_handshakes_total\{outcome="rejected",code="MALFORMED",gid="gw-it"\} 2/,
    );
    // still serving
    const outcome = await clientA.authenticate('IT-P1', 1);
    expect(outcome.ok).toBe(true);
    if (outcome.ok) await outcome.session.stop();
  });

  it('UNSUPPORTED_VERSION', async () => {
    const answer = await requestWith(rawA, clientA.usableCredential('IT-P1')!, { alter: (m) => (m.v = 2) });
    expect(answer.code).toBe('UNSUPPORTED_VERSION');
  });

  it('WRONG_PILE and WRONG_VEHICLE', async () => {
    const forP1 = clientA.usableCredential('IT-P1')!;
    expect((await requestWith(rawA, forP1, { pid: 'IT-P2', alter: (m) => (m.pid = 'IT-P2') })).code).toBe(
      'WRONG_PILE',
    );
    // car B presents car A's ticket under its own name
    expect((await requestWith(rawB, forP1)).code).toBe('WRONG_VEHICLE');
  });

  it('TICKET_NOT_YET_VALID, TICKET_EXPIRED and UNKNOWN_KEY_OFFSET with tickets under the real root key', async () => {
    const base = { vid: carA.vid, pid: 'IT-P1', off: 0 };
    const future = craftedCredential(await rootKey('IT-P1'), {
      ...base,
      nbf: nowS() + 3600,
      exp: nowS() + 7200,
    });
    expect((await requestWith(rawA, future)).code).toBe('TICKET_NOT_YET_VALID');
    const past = craftedCredential(await rootKey('IT-P1'), {
      ...base,
      nbf: nowS() - 7200,
      exp: nowS() - 3600,
    });
    expect((await requestWith(rawA, past)).code).toBe('TICKET_EXPIRED');
    const offset = craftedCredential(await rootKey('IT-P1'), {
      ...base,
      off: 5,
      nbf: nowS(),
      exp: nowS() + 3600,
    });
    expect((await requestWith(rawA, offset)).code).toBe('UNKNOWN_KEY_OFFSET');
  });

  it('QoS-1 duplicate gets the same challenge; a changed request under the same sid is REPLAY', async () => {
    const credential = clientA.usableCredential('IT-P2')!;
    const hs = handshake(carA.vid, credential, 2);
    const request = hs.start().payload;
    const sid = (JSON.parse(request) as Message).sid as string;
    rawA.send('IT-P2', request);
    rawA.send('IT-P2', request);
    const first = await rawA.nextText((m) => m.sid === sid);
    const second = await rawA.nextText((m) => m.sid === sid);
    expect(JSON.parse(first).type).toBe('auth.challenge');
    expect(second).toBe(first);
    // Changed by the vehicle itself (MACed again under its AK): REPLAY. Changed by anyone else: BAD_REQUEST_MAC.
    const original = JSON.parse(request) as AuthRequest;
    const changed = { ...original, ts: original.ts + 1 };
    rawA.send('IT-P2', changed);
    expect((await rawA.next((m) => m.sid === sid)).code).toBe('BAD_REQUEST_MAC');
    const remade = buildAuthRequest(credential.ak, {
      ...changed,
      sid: b64uDecode(original.sid),
      r1: b64uDecode(original.r1),
    });
    rawA.send('IT-P2', remade);
    expect((await rawA.next((m) => m.sid === sid)).code).toBe('REPLAY');
    // Free the connector: an abort MACed under AK ends the pending handshake.
    rawA.send('IT-P2', buildAuthAbort(credential.ak, b64uDecode(sid), 'TIMEOUT'));
  });

  it('UNKNOWN_CONNECTOR and CONNECTOR_BUSY', async () => {
    const unknown = await clientA.authenticate('IT-P1', 9);
    expect(unknown.ok ? 'ok' : unknown.code).toBe('UNKNOWN_CONNECTOR');
    const charging = await clientA.authenticate('IT-P1', 2);
    if (!charging.ok) throw new Error(charging.message);
    const clientB = await system.vehicle(carB);
    await credentialFor(clientB, 'IT-P1');
    const busy = await clientB.authenticate('IT-P1', 2);
    expect(busy.ok ? 'ok' : busy.code).toBe('CONNECTOR_BUSY');
    await charging.session.stop();
    const free = await clientB.authenticate('IT-P1', 2);
    expect(free.ok).toBe(true);
    if (free.ok) await free.session.stop();
  });

  it('BAD_PROOF (MACed) three times, then RATE_LIMITED', async () => {
    const clientB = await system.vehicle(carB);
    const credential = await credentialFor(clientB, 'IT-P3');
    for (let i = 0; i < 3; i++) {
      const challenge = await requestWith(rawB, credential, { connector: 1 });
      expect(challenge.type).toBe('auth.challenge');
      rawB.send('IT-P3', { v: 1, type: 'auth.response', sid: challenge.sid, proof: randomB64u(32) });
      const error = await rawB.next((m) => m.sid === challenge.sid);
      expect(error.code).toBe('BAD_PROOF');
      expect(typeof error.mac).toBe('string');
    }
    expect((await requestWith(rawB, credential)).code).toBe('RATE_LIMITED');
  });

  it('TIMEOUT: a challenge left unanswered is forgotten after 10 s with a MACed error', async () => {
    const challenge = await requestWith(rawA, clientA.usableCredential('IT-P2')!, { connector: 1 });
    expect(challenge.type).toBe('auth.challenge');
    const timeout = await rawA.next((m) => m.sid === challenge.sid, 13_000);
    expect(timeout.code).toBe('TIMEOUT');
    expect(typeof timeout.mac).toBe('string');
  }, 20_000);
});
