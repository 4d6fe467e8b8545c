/**
 * PROTOCOL §6 revision 2 through a real broker and gateways: vehicle A, with its own login, cannot lock vehicle B
 * out of a pile (issue #12); aborts end a handshake only with their mac; revision-1 requests are refused unless
 * the gateway's migration switch is on, and then counted and logged. The gateways' metrics show each.
 */
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/gateway.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  sealedCredentialFor,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import {
  b64uDecode,
  b64uEncode,
  buildAuthAbort,
  buildAuthRequest,
  secureRandom,
  type VehicleCredential,
  VehicleHandshake,
} from '../../shared/index.js';
import { issueTestCredential } from '../../shared/testing.js';
import { testClientId } from '../support/mqtt.js';
import { type Message, RawVehicle } from '../support/raw-vehicle.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
const strict = makePile('R2-P1');
const migrating = makePile('R2-P2');
const logLines: string[] = [];

let broker: RunningBroker;
let url: string;
let cloud: mqtt.MqttClient;
let gwStrict: RunningGateway;
let gwMigrating: RunningGateway;
let rawA: RawVehicle;
let clientB: VehicleClient;
const A = makeVehicle('R2-A', 'mqtt://unused', PASSWORD);
const nowS = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: [strict.pid, migrating.pid] });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  cloud = await mqtt.connectAsync(url, {
    clientId: testClientId('cloud'),
    username: 'cloud',
    password: PASSWORD,
  });
  const silent = pino({ level: 'silent' });
  const collect = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  gwStrict = await startGateway(
    writeGatewayFolder(tempDir('r2'), { gid: 'gw-r2a', mqttUrl: url, password: PASSWORD, piles: [strict] }),
    { logger: silent },
  );
  gwMigrating = await startGateway(
    writeGatewayFolder(tempDir('r2'), {
      gid: 'gw-r2b',
      mqttUrl: url,
      password: PASSWORD,
      piles: [migrating],
      acceptRevision1Requests: true,
    }),
    { logger: pino({ level: 'info' }, collect) },
  );
  await Promise.all([gwStrict.ready, gwMigrating.ready]);
  rawA = await RawVehicle.connect(A, url);
  const B = makeVehicle('R2-B', url, PASSWORD);
  clientB = new VehicleClient({ provisioning: B, store: new MemoryCredentialStore() });
  await clientB.start();
  const sealed = sealedCredentialFor(B, strict);
  const got = clientB.once('credential');
  await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
  await got;
});

afterAll(async () => {
  await rawA?.close();
  await clientB?.close();
  await gwStrict?.close();
  await gwMigrating?.close();
  await cloud?.endAsync();
  await broker?.close();
  removeTempDirs();
});

/** A genuine credential of A for a pile (what the cloud would have sealed to it). */
function credentialOfA(pile: typeof strict): VehicleCredential {
  return issueTestCredential(
    pile.rootKey,
    { vid: A.vid, pid: pile.pid, off: 0, iat: nowS(), nbf: nowS(), exp: nowS() + 3600 },
    secureRandom,
  );
}

async function metric(gw: RunningGateway, name: string): Promise<string> {
  return gw.metrics.registry.getSingleMetricAsString(name);
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('revision 2 through the broker', () => {
  it('issue #12: A’s made-up requests in B’s name and wrong proofs cost B nothing; B charges', async () => {
    // Five rounds of three messages: within the broker's burst for one vehicle connection (its publish limit).
    for (let i = 0; i < 5; i++) {
      // A makes up a ticket naming B, under a root key of its own, and MACs the request with the AK it chose.
      const fake = issueTestCredential(
        secureRandom(32),
        { vid: 'R2-B', pid: strict.pid, off: 0, iat: nowS(), nbf: nowS(), exp: nowS() + 3600 },
        secureRandom,
      );
      const request = buildAuthRequest(fake.ak, {
        sid: secureRandom(16),
        r1: secureRandom(16),
        vid: 'R2-B',
        pid: strict.pid,
        connector: 1,
        ticket: fake.ticket,
        ts: nowS(),
      });
      rawA.send(strict.pid, request);
      rawA.send(strict.pid, { ...request, mac: undefined });
      rawA.send(strict.pid, {
        v: 1,
        type: 'auth.response',
        sid: request.sid,
        proof: b64uEncode(secureRandom(32)),
      });
    }
    await until(async () =>
      /code="BAD_REQUEST_MAC",gid="gw-r2a"\} 10/.test(
        await metric(gwStrict, 'evauth_gateway_requests_refused_total'),
      ),
    );
    expect(await metric(gwStrict, 'evauth_gateway_messages_dropped_total')).toMatch(
      /reason="no-handshake",gid="gw-r2a"\} 5/,
    );
    // The refusals went to B's topic (A never learns anything); B, genuine, is served at once, again and again.
    expect(rawA.pending()).toEqual([]);
    for (let i = 0; i < 4; i++) {
      const outcome = await clientB.authenticate(strict.pid, 1);
      expect(outcome.ok ? 'ok' : outcome.code).toBe('ok');
      if (outcome.ok) await outcome.session.stop();
    }
  });

  it('an abort ends a pending handshake only with its mac; the others are counted', async () => {
    const credential = credentialOfA(strict);
    const hs = new VehicleHandshake({
      vid: A.vid,
      credential,
      connector: 2,
      now: Date.now,
      random: secureRandom,
    });
    rawA.send(strict.pid, hs.start().payload);
    const challenge = await rawA.next((m) => m.sid === hs.sid);
    expect(challenge.type).toBe('auth.challenge');
    rawA.send(strict.pid, { v: 1, type: 'auth.abort', sid: hs.sid, reason: 'OFFER_DECLINED' });
    rawA.send(strict.pid, {
      v: 1,
      type: 'auth.abort',
      sid: hs.sid,
      reason: 'OFFER_DECLINED',
      mac: b64uEncode(secureRandom(32)),
    });
    await until(async () =>
      /aborts_ignored_total\{gid="gw-r2a"\} 2/.test(
        await metric(gwStrict, 'evauth_gateway_aborts_ignored_total'),
      ),
    );
    rawA.send(strict.pid, buildAuthAbort(credential.ak, b64uDecode(hs.sid), 'OFFER_DECLINED'));
    await until(async () =>
      /outcome="aborted",code="OFFER_DECLINED",gid="gw-r2a"\} 1/.test(
        await metric(gwStrict, 'evauth_gateway_handshakes_total'),
      ),
    );
  });

  it('a revision-1 request (no mac): BAD_REQUEST_MAC by default; served, counted and logged with the switch', async () => {
    const attempt = async (pile: typeof strict): Promise<{ hs: VehicleHandshake; answer: Message }> => {
      const hs = new VehicleHandshake({
        vid: A.vid,
        credential: credentialOfA(pile),
        connector: 1,
        now: Date.now,
        random: secureRandom,
      });
      const { mac: _, ...revision1 } = JSON.parse(hs.start().payload) as Message;
      rawA.send(pile.pid, revision1);
      return { hs, answer: await rawA.next((m) => m.sid === hs.sid) };
    };
    expect((await attempt(strict)).answer.code).toBe('BAD_REQUEST_MAC');

    const { hs, answer } = await attempt(migrating);
    expect(answer.type).toBe('auth.challenge');
    hs.receive(JSON.stringify(answer));
    rawA.send(migrating.pid, hs.confirmOffer().payload);
    expect((await rawA.next((m) => m.sid === hs.sid)).type).toBe('auth.result');
    expect(await metric(gwMigrating, 'evauth_gateway_revision1_requests_total')).toMatch(
      /revision1_requests_total\{gid="gw-r2b"\} 1/,
    );
    expect(await metric(gwStrict, 'evauth_gateway_revision1_requests_total')).toMatch(
      /revision1_requests_total\{gid="gw-r2a"\} 0/,
    );
    const served = logLines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'revision-1 request (no mac) served');
    expect(served).toMatchObject({ vid: A.vid, sid: hs.sid, pile: migrating.pid });
  });
});
