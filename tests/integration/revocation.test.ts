/**
 * Revocation never lapses (PROTOCOL §7 revision 2): 5,000 revocations at one pile, half of them whole vehicles,
 * all in the pile's one signed control body, every one refused REVOKED by the pile; the body reaches a gateway
 * login through the real broker; a body that would not fit is refused with a message for the operator.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, startBroker } from '../../broker/index.js';
import { runCloudCli } from '../../cloud/cli.test-support.js';
import { addGrant, revokeTicket, revokeVehicle } from '../../cloud/grants.js';
import { reconcile } from '../../cloud/reconcile.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { startCloudService } from '../../cloud/service.js';
import {
  b64uDecode,
  deriveControlKey,
  deriveSealKey,
  MAX_CONTROL_PAYLOAD_BYTES,
  openCredential,
  PileAuthenticator,
  PileControlState,
  secureRandom,
  topics,
  type VehicleCredential,
  VehicleHandshake,
} from '../../shared/index.js';
import { connectClient, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';

const REVOKED_VEHICLES = 2500;
const REVOKED_TICKETS = 2500;
/** held back: their tickets, revoked too, make the body too large */
const SPARE = 700;
const VEHICLES = REVOKED_VEHICLES + REVOKED_TICKETS + SPARE;
const vidOf = (i: number) => `V${String(i).padStart(5, '0')}`;

let dir: string;
let admin: Registry;
const vehicleKeys = new Map<string, Uint8Array>();
const credentials = new Map<string, VehicleCredential>();

/** The pile's retained control body as the cloud stored it. */
const storedControl = async (pid = 'P1') =>
  (await admin.store.read((tx) => tx.retainedPayload(topics.pileControl(pid)))) ?? '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evauth-revocation-'));
  admin = await openRegistry(dir);
  await admin.init();
  await admin.addGateway('G1');
  await admin.addPiles([{ pid: 'P1', spec: testPileSpec({ gid: 'G1' }) }]);
  // In bulk, one unit of work: vehicles (without MQTT logins, which cost a password hash each) and grants.
  const now = Date.now();
  await admin.store.transaction(async (tx) => {
    for (let i = 0; i < VEHICLES; i++) {
      const vid = vidOf(i);
      const key = randomBytes(32);
      vehicleKeys.set(vid, key);
      await tx.insertVehicle({
        vid,
        name: '',
        vehicle_key_sealed: admin.masterKey.sealVehicleKey(vid, key),
        created_at: Math.floor(now / 1000),
      });
      await addGrant(tx, vid, { scope: 'pile', target: 'P1' }, now);
    }
  });
  await reconcile(admin, now, { ticketLifeSeconds: 7 * 86400, random: randomBytes, issueBatch: 2000 });
  await admin.store.read(async (tx) => {
    for (const [vid, key] of vehicleKeys) {
      const topic = topics.credential(vid, 'P1');
      const opened = openCredential(deriveSealKey(key, vid), topic, (await tx.retainedPayload(topic)) ?? '');
      if (!opened.ok) throw new Error(`credential of ${vid}: ${opened.message}`);
      credentials.set(vid, opened.value);
    }
  });
}, 120_000);

afterAll(async () => {
  await admin?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('5,000 revocations at one pile', () => {
  it('are all in its control body, and the pile refuses every one REVOKED', async () => {
    const now = Date.now();
    // all but the last in bulk; the last as the CLI does it, which signs the pile's body in the same unit
    await admin.store.transaction(async (tx) => {
      for (let i = 0; i < REVOKED_VEHICLES - 1; i++) await revokeVehicle(tx, vidOf(i), now);
      for (let i = REVOKED_VEHICLES; i < REVOKED_VEHICLES + REVOKED_TICKETS; i++)
        await revokeTicket(tx, credentials.get(vidOf(i))!.tid, now);
    });
    await admin.revokeVehicle(vidOf(REVOKED_VEHICLES - 1), now);

    const payload = await storedControl();
    expect(payload.length).toBeGreaterThan(200 * 1024);
    expect(payload.length).toBeLessThanOrEqual(MAX_CONTROL_PAYLOAD_BYTES);
    const body = JSON.parse(JSON.parse(payload).body);
    expect(body.revokedVehicles).toHaveLength(REVOKED_VEHICLES);
    expect(body.revoked).toHaveLength(REVOKED_TICKETS);

    const rootKey = b64uDecode((await admin.keystoreEntry('P1')).rootKey);
    const control = PileControlState.fromKeyOffset(0);
    expect(control.apply(deriveControlKey(rootKey, 'P1'), 'P1', payload, Math.floor(now / 1000)).ok).toBe(
      true,
    );
    const pile = new PileAuthenticator({
      pid: 'P1',
      rootKey,
      connectors: [{ id: 1, maxW: 22000 }],
      tariff: { pricePerKWh: '0.40', currency: 'EUR' },
      control,
      now: () => now,
      random: secureRandom,
      limits: {},
      connectorAvailable: () => true,
    });
    const codes = new Map<string, number>();
    for (let i = 0; i < VEHICLES; i++) {
      const vid = vidOf(i);
      const vehicle = new VehicleHandshake({
        vid,
        credential: credentials.get(vid)!,
        connector: 1,
        now: () => now,
        random: secureRandom,
      });
      const out = pile.handle(vehicle.start().payload);
      const reply = out.find((o) => o.kind === 'send');
      const code = reply?.kind === 'send' ? (JSON.parse(reply.payload).code ?? 'challenge') : 'none';
      const key = i < REVOKED_VEHICLES + REVOKED_TICKETS ? `revoked:${code}` : `spare:${code}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    expect(codes.get('revoked:REVOKED')).toBe(REVOKED_VEHICLES + REVOKED_TICKETS);
    // and only they: no vehicle not revoked is (the first is challenged; the rest find its connector busy)
    expect(codes.get('spare:challenge')).toBe(1);
    expect(codes.get('spare:CONNECTOR_BUSY')).toBe(SPARE - 1);
    expect(codes.size).toBe(3);
  }, 60_000);

  it('reach a gateway through the real broker, 256 KiB retained body and all', async () => {
    const password = 'gw-pass-revocation';
    await admin.setMqttPassword('gateway:G1', password);
    const broker = await startBroker({ mqttPort: 0, logins: new LoginView(join(dir, 'cloud.db')) });
    const url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    // the stored body, retained by the cloud's login as the service publishes it (cloud-service tests run that)
    const cloud = await connectClient(url, 'cloud', admin.cloudPassword());
    const gateway = await connectClient(url, 'gateway:G1', password);
    try {
      const stored = await storedControl();
      await cloud.publishAsync(topics.pileControl('P1'), stored, { qos: 1, retain: true });
      const received: Buffer[] = [];
      gateway.on('message', (_topic, payload) => received.push(payload));
      await gateway.subscribeAsync(topics.pileControl('P1'), { qos: 1 });
      const payload = await waitFor(() => received.at(-1), 10_000, 'the retained pile.control');
      expect(payload.toString()).toBe(stored);
      const control = PileControlState.fromKeyOffset(0);
      const ck = deriveControlKey(b64uDecode((await admin.keystoreEntry('P1')).rootKey), 'P1');
      expect(control.apply(ck, 'P1', payload, Math.floor(Date.now() / 1000)).ok).toBe(true);
      expect(control.revokedCount + control.revokedVehicleCount).toBe(REVOKED_VEHICLES + REVOKED_TICKETS);
    } finally {
      await Promise.all([cloud.endAsync(), gateway.endAsync()]);
      await broker.close();
    }
  });
});

describe('a control body that would not fit', () => {
  it('fails the revocation with a message naming the pile and what to do; nothing revoked', async () => {
    const now = Date.now();
    const before = await storedControl();
    const tooMany = Array.from({ length: SPARE }, (_, i) => vidOf(REVOKED_VEHICLES + REVOKED_TICKETS + i));
    await expect(
      admin.store.transaction(async (tx) => {
        for (const vid of tooMany) await revokeTicket(tx, credentials.get(vid)!.tid, now);
        const { signControlsNow } = await import('../../cloud/pile-topics.js');
        await signControlsNow(tx, admin.masterKey, ['P1'], Math.floor(now / 1000));
      }),
    ).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringMatching(/pile P1: .* over the 262144/),
    });
    // undone as a whole: no ticket revoked, the body unchanged
    expect(
      (await admin.store.read((tx) => tx.ticket(credentials.get(tooMany[0]!)!.tid)))!.revoked_at,
    ).toBeNull();
    expect(await storedControl()).toBe(before);
  });

  it('the CLI says so and exits non-zero; the service logs an error and keeps the previous body', async () => {
    const now = Date.now();
    const spares = Array.from({ length: SPARE }, (_, i) => vidOf(REVOKED_VEHICLES + REVOKED_TICKETS + i));
    const before = await storedControl();
    // as a pass that revokes tickets (a revoked grant) would: the service signs the body afterwards
    await admin.store.transaction(async (tx) => {
      for (const vid of spares.slice(1)) await revokeTicket(tx, credentials.get(vid)!.tid, now);
    });
    const cli = runCloudCli(['--data', dir, 'revoke', '--ticket', credentials.get(spares[0]!)!.tid]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/pile P1: its pile\.control would be \d+ bytes/);
    expect(cli.stderr).toMatch(/Revoke whole vehicles/);
    expect(cli.stderr).not.toMatch(/\n\s+at /);

    const lines: { level: number; msg: string; pile?: string; bytes?: number }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    // the pass that withdraws those credentials, done here: the service's own pass (in this process, beside the
    // broker) then only signs bodies
    await reconcile(admin, now, { ticketLifeSeconds: 7 * 86400, random: randomBytes });
    const broker = await startBroker({ mqttPort: 0, logins: new LoginView(join(dir, 'cloud.db')) });
    const service = await startCloudService({
      dataDir: dir,
      mqttUrl: `mqtt://127.0.0.1:${broker.mqttPort}`,
      logger: pino({ level: 'info' }, sink),
    });
    try {
      // logged by the service's first pass (its publishing is the cloud-service tests' part)
      const error = await waitFor(() => lines.find((l) => l.level >= 50 && l.pile === 'P1'), 30_000);
      expect(error.msg).toMatch(/pile P1: .*over the 262144.*Revoke whole vehicles/);
      expect(error.bytes).toBeGreaterThan(MAX_CONTROL_PAYLOAD_BYTES);
      expect(await storedControl()).toBe(before);
    } finally {
      await service.close();
      await broker.close();
    }
  }, 60_000);
});
