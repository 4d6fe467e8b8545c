import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginView, startBroker } from '../../broker/index.js';
import { openRegistry, type Registry } from '../../cloud/registry.js';
import { type CloudService, startCloudService } from '../../cloud/service.js';
import {
  b64uDecode,
  buildCredentialRequest,
  deriveControlKey,
  deriveSealKey,
  deriveVehicleMacKey,
  openCredential,
  PileControlState,
  parseTicket,
  topics,
} from '../../shared/index.js';
import { collect, connectClient, connectWithRetry, type Received, waitFor } from '../support/mqtt.js';
import { testPileSpec } from '../support/pile-spec.js';

const spec = (site: string, gid?: string) =>
  testPileSpec({
    ...(gid ? { gid } : {}),
    site,
    connectors: [
      { id: 1, maxW: 22000 },
      { id: 2, maxW: 22000 },
    ],
  });

describe('credential service on a real broker', () => {
  let dir: string;
  let admin: Registry; // plays the CLI: a second connection to cloud.db
  let observer: Database.Database; // reads what the tests check in cloud.db, read-only
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let service: CloudService;
  let url: string;
  const keys: Record<string, Uint8Array> = {};
  const passwords: Record<string, string> = {};

  const startTheBroker = async (port: number) => {
    const auth = await openRegistry(dir);
    const b = await startBroker({
      mqttPort: port,
      logins: new LoginView(join(dir, 'cloud.db')),
      // The broker closes a vehicle connection that publishes faster than 10/s (session-policy.ts), which would
      // stop the floods below at the broker; lifted here, so they reach the cloud and test its own defence.
      sessionLimits: { authPublishesPerSecond: 1_000_000, authPublishBurst: 1_000_000 },
    });
    const close = b.close;
    return {
      ...b,
      close: async () => {
        await close();
        await auth.close();
      },
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-cloud-'));
    admin = await openRegistry(dir);
    await admin.init();
    await admin.addGateway('G1');
    await admin.addPile('P1', spec('A', 'G1'));
    await admin.addPile('P2', spec('A', 'G1'));
    await admin.addPile('P3', spec('B'));
    for (const vid of ['V1', 'V2']) {
      const p = await admin.addVehicle(vid, {
        mqttUrl: 'mqtt://127.0.0.1:1',
        wsUrl: 'ws://127.0.0.1:1/mqtt',
      });
      keys[vid] = b64uDecode(p.vehicleKey);
      passwords[vid] = p.mqtt.password;
    }
    await admin.grant('V1', { scope: 'site', target: 'A' });
    broker = await startTheBroker(0);
    url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    service = await startCloudService({
      dataDir: dir,
      mqttUrl: url,
      pollIntervalMs: 100,
      reconnectPeriodMs: 200,
    });
    await service.flushed(); // everything retained at the broker before a vehicle subscribes
    observer = new Database(join(dir, 'cloud.db'), { readonly: true });
  });

  afterAll(async () => {
    await service?.close();
    await broker?.close();
    observer?.close();
    await admin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const vehicleClient = async (vid: string) => {
    const client = await connectClient(url, `vehicle:${vid}`, passwords[vid]);
    const seen = collect(client);
    await client.subscribeAsync(topics.vehicleAll(vid), { qos: 1 });
    return { client, seen };
  };
  const credentialOn = (seen: Received[], vid: string, pid: string) =>
    seen.filter((m) => m.topic === topics.credential(vid, pid));

  it('publishes a granted credential retained; it opens only with the right vehicle key and topic', async () => {
    const { client, seen } = await vehicleClient('V1');
    const msg = await waitFor(
      () => credentialOn(seen, 'V1', 'P1').find((m) => m.payload),
      5000,
      'credential',
    );
    expect(msg.retain).toBe(true);
    const opened = openCredential(deriveSealKey(keys['V1']!, 'V1'), msg.topic, msg.payload);
    expect(opened.ok).toBe(true);
    if (opened.ok) {
      expect(opened.value.pid).toBe('P1');
      expect(opened.value.parsed.body.vid).toBe('V1');
      expect(opened.value.exp - opened.value.parsed.body.iat).toBe(7 * 24 * 3600);
    }
    expect(openCredential(deriveSealKey(keys['V2']!, 'V2'), msg.topic, msg.payload).ok).toBe(false);
    expect(
      openCredential(deriveSealKey(keys['V1']!, 'V1'), topics.credential('V1', 'P2'), msg.payload).ok,
    ).toBe(false);
    expect(
      openCredential(deriveSealKey(keys['V2']!, 'V2'), topics.credential('V2', 'P1'), msg.payload).ok,
    ).toBe(false);
    expect(credentialOn(seen, 'V1', 'P3')).toEqual([]);
    await client.endAsync();
  });

  it('answers credential.request, denies stale ts, reused nonce and missing entitlement, and drops what is not authentic', async () => {
    const { client, seen } = await vehicleClient('V1');
    const vmk = deriveVehicleMacKey(keys['V1']!, 'V1');
    const now = Math.floor(Date.now() / 1000);
    const dropped = service.requestStats().dropped;
    const send = (req: object) =>
      client.publishAsync(topics.credentialRequests(), JSON.stringify(req), { qos: 1 });
    const denials = () =>
      seen.filter((m) => m.topic === topics.vehicleCloud('V1')).map((m) => JSON.parse(m.payload).code);
    const denial = (code: string) =>
      waitFor(
        () => seen.find((m) => m.topic === topics.vehicleCloud('V1') && JSON.parse(m.payload).code === code),
        5000,
        code,
      );

    await waitFor(() => credentialOn(seen, 'V1', 'P2').length > 0 || undefined, 5000, 'retained P2');
    const before = credentialOn(seen, 'V1', 'P2').length;
    const valid = buildCredentialRequest(vmk, 'V1', 'P2', now, (n) => randomBytes(n));
    await send(valid);
    await waitFor(() => credentialOn(seen, 'V1', 'P2').length > before || undefined, 5000, 'answer');

    await send(valid);
    expect(JSON.parse((await denial('REPLAY')).payload)).toEqual({
      v: 1,
      type: 'credential.denied',
      pid: 'P2',
      code: 'REPLAY',
    });
    // not made with V1's key, and not even a request: counted, never answered on V1's topic
    const forged = buildCredentialRequest(deriveVehicleMacKey(keys['V2']!, 'V1'), 'V1', 'P2', now, (n) =>
      randomBytes(n),
    );
    await send(forged);
    await send({ v: 1, type: 'credential.request', vid: 'V1', pid: 'P2', ts: 'x' });
    // a stale request with a valid MAC is authentic: it is answered (after the two above, in order)
    await send(buildCredentialRequest(vmk, 'V1', 'P2', now - 301, (n) => randomBytes(n)));
    await denial('STALE');
    await send(buildCredentialRequest(vmk, 'V1', 'P3', now, (n) => randomBytes(n)));
    expect(JSON.parse((await denial('NOT_ENTITLED')).payload).pid).toBe('P3');
    expect(denials()).toEqual(['REPLAY', 'STALE', 'NOT_ENTITLED']);
    const after = service.requestStats().dropped;
    expect((after.BAD_MAC ?? 0) - (dropped.BAD_MAC ?? 0)).toBe(1);
    expect((after.MALFORMED ?? 0) - (dropped.MALFORMED ?? 0)).toBe(1);
    await client.endAsync();
  });

  it('a flood of bad-MAC requests naming a vehicle costs it nothing: no denial, no nonce, no rate', async () => {
    const FLOOD = 3000;
    const victim = await vehicleClient('V1');
    const attacker = await connectClient(url, 'vehicle:V2', passwords['V2']);
    const nonces = observer.prepare('SELECT COUNT(*) FROM request_nonces').pluck();
    const noncesBefore = nonces.get() as number;
    const badMacBefore = service.requestStats().dropped.BAD_MAC ?? 0;
    const now = Math.floor(Date.now() / 1000);
    const wrongKey = deriveVehicleMacKey(keys['V2']!, 'V1');
    await Promise.all(
      Array.from({ length: FLOOD }, () =>
        attacker.publishAsync(
          topics.credentialRequests(),
          JSON.stringify(buildCredentialRequest(wrongKey, 'V1', 'P2', now, (n) => randomBytes(n))),
          { qos: 1 },
        ),
      ),
    );
    // right behind the flood, the victim asks for real: more than its 20 requests a minute have been sent in
    // its name, and it is still answered with its credential
    const before = credentialOn(victim.seen, 'V1', 'P2').length;
    const genuine = buildCredentialRequest(deriveVehicleMacKey(keys['V1']!, 'V1'), 'V1', 'P2', now, (n) =>
      randomBytes(n),
    );
    await victim.client.publishAsync(topics.credentialRequests(), JSON.stringify(genuine), { qos: 1 });
    await waitFor(
      () => credentialOn(victim.seen, 'V1', 'P2').length > before || undefined,
      5000,
      'the genuine request answered',
    );
    await waitFor(
      () => (service.requestStats().dropped.BAD_MAC ?? 0) - badMacBefore === FLOOD || undefined,
      10_000,
      `${FLOOD} bad-MAC requests dropped`,
    );
    expect(victim.seen.filter((m) => m.topic === topics.vehicleCloud('V1'))).toEqual([]);
    expect(nonces.get()).toBe(noncesBefore + 1); // the genuine request's, no other
    await Promise.all([victim.client.endAsync(), attacker.endAsync()]);
  });

  it('past its rate a vehicle is answered RATE_LIMITED, and its refused requests write nothing', async () => {
    const { client, seen } = await vehicleClient('V2');
    const vmk = deriveVehicleMacKey(keys['V2']!, 'V2');
    const nonces = observer.prepare('SELECT COUNT(*) FROM request_nonces').pluck();
    const noncesBefore = nonces.get() as number;
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 25; i++) {
      const request = buildCredentialRequest(vmk, 'V2', 'P1', now, (n) => randomBytes(n));
      await client.publishAsync(topics.credentialRequests(), JSON.stringify(request), { qos: 1 });
    }
    const codes = () =>
      seen.filter((m) => m.topic === topics.vehicleCloud('V2')).map((m) => JSON.parse(m.payload).code);
    await waitFor(() => codes().length === 25 || undefined, 5000, '25 answers');
    expect(codes()).toEqual([...Array(20).fill('NOT_ENTITLED'), ...Array(5).fill('RATE_LIMITED')]);
    expect(nonces.get()).toBe(noncesBefore + 20);
    await client.endAsync();
  });

  it('revocation withdraws the credential and signs the ticket into the pile control list', async () => {
    const { client, seen } = await vehicleClient('V1');
    const tid = (await admin.store.read((tx) => tx.latestTicket('V1', 'P1')))!.tid;
    const gw = await connectClient(url, 'gateway:G1', 'gw-pass').catch(() => undefined);
    expect(gw).toBeUndefined(); // no login until exported
    await admin.setMqttPassword('gateway:G1', 'gw-pass');
    // right after its refused login this pair meets the broker's back-off: it retries, as a gateway would
    const pile = await connectWithRetry(url, 'gateway:G1', 'gw-pass');
    const atPile = collect(pile);
    await pile.subscribeAsync(topics.pileControl('P1'), { qos: 1 });
    const control = PileControlState.fromKeyOffset(0);
    const ck = deriveControlKey(b64uDecode((await admin.keystoreEntry('P1')).rootKey), 'P1');
    await waitFor(() => atPile.length > 0 || undefined, 5000, 'initial control');
    expect(
      control.apply(ck, 'P1', atPile[atPile.length - 1]!.payload, Math.floor(Date.now() / 1000)).ok,
    ).toBe(true);
    expect(control.isRevoked({ tid, vid: 'V1' }, Math.floor(Date.now() / 1000))).toBe(false);

    await admin.revokeTicket(tid); // as the CLI does, while the service runs
    await waitFor(() => credentialOn(seen, 'V1', 'P1').find((m) => m.payload === ''), 5000, 'withdrawal');
    const body = await waitFor(
      () => {
        const last = atPile[atPile.length - 1]!;
        const applied = control.apply(ck, 'P1', last.payload, Math.floor(Date.now() / 1000));
        return applied.ok ? applied.value : undefined;
      },
      5000,
      'control with revocation',
    );
    expect(body.revoked.map((r) => r.tid)).toContain(tid);
    expect(control.isRevoked({ tid, vid: 'V1' }, Math.floor(Date.now() / 1000))).toBe(true);
    // A forged body (wrong key) is refused by the pile.
    expect(
      control.apply(
        ck.map((b) => b ^ 1),
        'P1',
        atPile[atPile.length - 1]!.payload,
        0,
      ).ok,
    ).toBe(false);
    await Promise.all([client.endAsync(), pile.endAsync()]);
  });

  it('rotation keeps the old offset accepted and reissues credentials under the new one', async () => {
    const { client, seen } = await vehicleClient('V1');
    const pile = await connectWithRetry(url, 'gateway:G1', 'gw-pass');
    const atPile = collect(pile);
    await pile.subscribeAsync(topics.pileControl('P2'), { qos: 1 });
    await waitFor(() => atPile.length > 0 || undefined, 5000, 'control P2');
    await admin.rotate('P2');
    const ck = deriveControlKey(b64uDecode((await admin.keystoreEntry('P2')).rootKey), 'P2');
    const state = PileControlState.fromKeyOffset(0);
    const body = await waitFor(
      () => {
        const applied = state.apply(
          ck,
          'P2',
          atPile[atPile.length - 1]!.payload,
          Math.floor(Date.now() / 1000),
        );
        return applied.ok && applied.value.keyOffset.current === 1 ? applied.value : undefined;
      },
      5000,
      'rotated control',
    );
    expect(body.keyOffset.accept.sort()).toEqual([0, 1]);
    expect(state.acceptsOffset(0) && state.acceptsOffset(1)).toBe(true);
    const reissued = await waitFor(
      () => {
        const last = credentialOn(seen, 'V1', 'P2').at(-1);
        if (!last?.payload) return undefined;
        const opened = openCredential(deriveSealKey(keys['V1']!, 'V1'), last.topic, last.payload);
        return opened.ok && opened.value.parsed.body.off === 1 ? opened.value : undefined;
      },
      5000,
      'credential under offset 1',
    );
    expect(parseTicket(reissued.ticket).ok).toBe(true);
    await Promise.all([client.endAsync(), pile.endAsync()]);
  });

  it('after a broker restart every retained credential, control and directory message is back', async () => {
    const port = broker.mqttPort;
    await broker.close();
    broker = await startTheBroker(port);
    const { client, seen } = await vehicleClient('V1');
    await client.subscribeAsync(topics.directoryAll(), { qos: 1 });
    const pile = await connectClient(url, 'gateway:G1', 'gw-pass');
    const atPile = collect(pile);
    await pile.subscribeAsync([topics.pileControl('P1'), topics.pileControl('P2')], { qos: 1 });
    await waitFor(
      () => credentialOn(seen, 'V1', 'P2').find((m) => m.payload),
      8000,
      'credential after restart',
    );
    await waitFor(
      () =>
        new Set(seen.filter((m) => m.topic.includes('/directory/piles/')).map((m) => m.topic)).size === 3 ||
        undefined,
      8000,
      'directory',
    );
    // every topic is back (a message published while the subscription is made may come twice, live and retained)
    await waitFor(() => new Set(atPile.map((m) => m.topic)).size === 2 || undefined, 8000, 'both controls');
    const entry = JSON.parse(seen.find((m) => m.topic === topics.directoryPile('P1'))!.payload);
    expect(entry).toMatchObject({
      v: 1,
      pid: 'P1',
      site: 'A',
      tariff: { pricePerKWh: '0.40', currency: 'EUR' },
    });
    await Promise.all([client.endAsync(), pile.endAsync()]);
  });
});
