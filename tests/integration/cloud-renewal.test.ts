/**
 * Renewal when less than 20% of a ticket's life is left (cloud/issuer.ts RENEW_AT_FRACTION), measured with a
 * 100-second ticket life and the service's injectable clock: the periodic pass on a real broker, and the
 * credential.request path on a real registry.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, type RunningBroker, startBroker } from '../../broker/index.js';
import { answerCredentialRequest, RequestLimiter } from '../../cloud/credential-requests.js';
import { RENEW_AT_FRACTION } from '../../cloud/issuer.js';
import { reconcile } from '../../cloud/reconcile.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { type CloudService, startCloudService } from '../../cloud/service.js';
import {
  b64uDecode,
  buildCredentialRequest,
  deriveSealKey,
  deriveVehicleMacKey,
  openCredential,
  topics,
} from '../../shared/index.js';
import { collect, connectClient, type Received, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';

const LIFE = 100; // seconds; 20% of it is 20 s
const T0 = Math.floor(Date.now() / 1000); // a whole second, so the offsets below are exact

const pileSpec = testPileSpec();

async function setUpRegistry(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const registry = await openRegistry(dir);
  await registry.init();
  await registry.addPile('P1', pileSpec);
  const provisioned = await registry.addVehicle('V1', {
    mqttUrl: 'mqtt://127.0.0.1:1',
    wsUrl: 'ws://127.0.0.1:1/mqtt',
  });
  // valid from T0 on the service's clock, however long set-up took in wall time
  await registry.grant('V1', { scope: 'pile', target: 'P1', nbf: T0 });
  return {
    dir,
    registry,
    vehicleKey: b64uDecode(provisioned.vehicleKey),
    password: provisioned.mqtt.password,
  };
}

const latestTid = async (registry: Registry) =>
  (await registry.store.read((tx) => tx.latestTicket('V1', 'P1')))?.tid;

describe('periodic renewal by the running service', () => {
  let dir: string;
  let admin: Registry;
  let vehicleKey: Uint8Array;
  let password: string;
  let brokerRegistry: Registry;
  let broker: RunningBroker;
  let service: CloudService;
  let vehicle: MqttClient;
  let seen: Received[];
  let clockMs = T0 * 1000;
  let clockReads = 0;

  beforeAll(async () => {
    ({ dir, registry: admin, vehicleKey, password } = await setUpRegistry('evauth-renewal-'));
    brokerRegistry = await openRegistry(dir);
    broker = await startBroker({ mqttPort: 0, logins: new LoginView(join(dir, 'cloud.db')) });
    const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    service = await startCloudService({
      dataDir: dir,
      mqttUrl: url,
      ticketLifeSeconds: LIFE,
      now: () => {
        clockReads++;
        return clockMs;
      },
      reconcileIntervalMs: 40,
      pollIntervalMs: 40,
      reconnectPeriodMs: 200,
    });
    vehicle = await connectClient(url, 'vehicle:V1', password);
    seen = collect(vehicle);
    await vehicle.subscribeAsync(topics.credential('V1', 'P1'), { qos: 1 });
  });

  afterAll(async () => {
    vehicle?.end(true);
    await service?.close();
    await broker?.close();
    await brokerRegistry?.close();
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const opened = () =>
    seen
      .filter((m) => m.payload !== '')
      .map((m) => {
        const result = openCredential(deriveSealKey(vehicleKey, 'V1'), m.topic, m.payload);
        if (!result.ok) throw new Error(`credential does not open: ${result.message}`);
        return { ...result.value, retain: m.retain };
      });
  /** Waits until the service has run at least `n` more passes against the current clock. */
  const passes = async (n: number) => {
    const target = clockReads + n;
    await waitFor(() => clockReads >= target || undefined, 3000, `${n} reconcile passes`);
  };

  it('issues the first credential with the configured life', async () => {
    const first = await waitFor(() => opened()[0], 5000, 'first credential');
    expect(first.parsed.body.iat).toBe(T0);
    expect(first.exp).toBe(T0 + LIFE);
    expect(first.pid).toBe('P1');
    expect(await latestTid(admin)).toBe(first.tid);
  });

  it('does not renew while 20% or more of the life is left (50%, 21%, exactly 20%)', async () => {
    const tid = opened()[0]!.tid;
    for (const elapsed of [50, 79, LIFE * (1 - RENEW_AT_FRACTION)]) {
      clockMs = (T0 + elapsed) * 1000;
      await passes(3);
      expect(await latestTid(admin), `after ${elapsed} s`).toBe(tid);
    }
    expect(new Set(opened().map((c) => c.tid))).toEqual(new Set([tid]));
  });

  it('re-issues once less than 20% is left: new tid, new retained message that opens with the vehicle key', async () => {
    const old = opened()[0]!;
    clockMs = (T0 + 81) * 1000; // 19 s of 100 left
    const renewed = await waitFor(() => opened().find((c) => c.tid !== old.tid), 3000, 'renewed credential');
    expect(renewed.tid).not.toBe(old.tid);
    expect(renewed.parsed.body.iat).toBe(T0 + 81);
    expect(renewed.exp).toBe(T0 + 81 + LIFE);
    expect(renewed.parsed.body.vid).toBe('V1');
    expect(renewed.pid).toBe('P1');
    expect(await latestTid(admin)).toBe(renewed.tid);
    // the broker now holds the new one retained: a fresh subscriber gets it, and only it
    const late = await connectClient(`mqtt://127.0.0.1:${broker.mqttPort}`, 'vehicle:V1', password);
    const lateSeen = collect(late);
    await late.subscribeAsync(topics.credential('V1', 'P1'), { qos: 1 });
    const retained = await waitFor(() => lateSeen[0], 3000, 'retained credential');
    await late.endAsync();
    expect(retained.retain).toBe(true);
    const retainedOpened = openCredential(deriveSealKey(vehicleKey, 'V1'), retained.topic, retained.payload);
    expect(retainedOpened.ok && retainedOpened.value.tid).toBe(renewed.tid);
    // and the renewed ticket is not renewed again on the next passes
    await passes(3);
    expect(await latestTid(admin)).toBe(renewed.tid);
  });
});

describe('credential.request near the end of a ticket', () => {
  let dir: string;
  let registry: Registry;
  let vehicleKey: Uint8Array;
  const issuer = { ticketLifeSeconds: LIFE, random: (n: number) => randomBytes(n) };

  beforeAll(async () => {
    ({ dir, registry, vehicleKey } = await setUpRegistry('evauth-renewal-req-'));
    await reconcile(registry, T0 * 1000, issuer); // issues the first ticket at T0
  });
  afterAll(async () => {
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (atSeconds: number) =>
    answerCredentialRequest(
      { data: registry, limiter: new RequestLimiter(), issuer },
      Buffer.from(
        JSON.stringify(
          buildCredentialRequest(deriveVehicleMacKey(vehicleKey, 'V1'), 'V1', 'P1', atSeconds, (n) =>
            randomBytes(n),
          ),
        ),
      ),
      atSeconds * 1000,
    );

  it('resends the current ticket with 21% left and issues a new one with 19% left', async () => {
    const first = (await latestTid(registry))!;
    expect(first).toBeDefined();
    const early = await ask(T0 + 79);
    expect(early).toMatchObject({ kind: 'resent', tid: first });
    const late = await ask(T0 + 81);
    expect(late.kind).toBe('issued');
    if (late.kind !== 'issued') return;
    expect(late.tid).not.toBe(first);
    expect(await latestTid(registry)).toBe(late.tid);
    const retained = await registry.store.read((tx) => tx.retainedPayload(topics.credential('V1', 'P1')));
    const opened = openCredential(deriveSealKey(vehicleKey, 'V1'), topics.credential('V1', 'P1'), retained!);
    expect(opened.ok && opened.value.tid).toBe(late.tid);
    expect(opened.ok && opened.value.exp).toBe(T0 + 81 + LIFE);
  });
});
