import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let service: CloudService;
  let url: string;
  const keys: Record<string, Uint8Array> = {};
  const passwords: Record<string, string> = {};

  const startTheBroker = async (port: number) => {
    const auth = openRegistry(dir);
    const b = await startBroker({ mqttPort: port, logins: new LoginView(join(dir, 'cloud.db')) });
    const close = b.close;
    return {
      ...b,
      close: async () => {
        await close();
        auth.close();
      },
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-cloud-'));
    admin = openRegistry(dir);
    admin.init();
    admin.addGateway('G1');
    admin.addPile('P1', spec('A', 'G1'));
    admin.addPile('P2', spec('A', 'G1'));
    admin.addPile('P3', spec('B'));
    for (const vid of ['V1', 'V2']) {
      const p = admin.addVehicle(vid, { mqttUrl: 'mqtt://127.0.0.1:1', wsUrl: 'ws://127.0.0.1:1/mqtt' });
      keys[vid] = b64uDecode(p.vehicleKey);
      passwords[vid] = p.mqtt.password;
    }
    admin.grant('V1', { scope: 'site', target: 'A' });
    broker = await startTheBroker(0);
    url = `mqtt://127.0.0.1:${broker.mqttPort}`;
    service = await startCloudService({
      dataDir: dir,
      mqttUrl: url,
      pollIntervalMs: 100,
      reconnectPeriodMs: 200,
    });
  });

  afterAll(async () => {
    await service?.close();
    await broker?.close();
    admin?.close();
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

  it('answers credential.request, and denies bad MAC, stale ts, reused nonce and missing entitlement', async () => {
    const { client, seen } = await vehicleClient('V1');
    const vmk = deriveVehicleMacKey(keys['V1']!, 'V1');
    const now = Math.floor(Date.now() / 1000);
    const send = (req: object) =>
      client.publishAsync(topics.credentialRequests(), JSON.stringify(req), { qos: 1 });
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
    const forged = buildCredentialRequest(deriveVehicleMacKey(keys['V2']!, 'V1'), 'V1', 'P2', now, (n) =>
      randomBytes(n),
    );
    await send(forged);
    await denial('BAD_MAC');
    await send(buildCredentialRequest(vmk, 'V1', 'P2', now - 301, (n) => randomBytes(n)));
    await denial('STALE');
    await send(buildCredentialRequest(vmk, 'V1', 'P3', now, (n) => randomBytes(n)));
    expect(JSON.parse((await denial('NOT_ENTITLED')).payload).pid).toBe('P3');
    await send({ v: 1, type: 'credential.request', vid: 'V1', pid: 'P2', ts: 'x' });
    await denial('MALFORMED');
    await client.endAsync();
  });

  it('revocation withdraws the credential and signs the ticket into the pile control list', async () => {
    const { client, seen } = await vehicleClient('V1');
    const tid = (
      admin.db.prepare("SELECT tid FROM tickets WHERE vid='V1' AND pid='P1' ORDER BY iat DESC").get() as {
        tid: string;
      }
    ).tid;
    const gw = await connectClient(url, 'gateway:G1', 'gw-pass').catch(() => undefined);
    expect(gw).toBeUndefined(); // no login until exported
    admin.setMqttPassword('gateway:G1', 'gw-pass');
    // the refused attempt just above put this address and login in the broker's back-off (broker/login-gate.ts)
    const pile = await connectWithRetry(url, 'gateway:G1', 'gw-pass');
    const atPile = collect(pile);
    await pile.subscribeAsync(topics.pileControl('P1'), { qos: 1 });
    const control = PileControlState.fromKeyOffset(0);
    const ck = deriveControlKey(b64uDecode(admin.keystoreEntry('P1').rootKey), 'P1');
    await waitFor(() => atPile.length > 0 || undefined, 5000, 'initial control');
    expect(
      control.apply(ck, 'P1', atPile[atPile.length - 1]!.payload, Math.floor(Date.now() / 1000)).ok,
    ).toBe(true);
    expect(control.isRevoked(tid, Math.floor(Date.now() / 1000))).toBe(false);

    admin.revokeTicket(tid); // as the CLI does, while the service runs
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
    expect(control.isRevoked(tid, Math.floor(Date.now() / 1000))).toBe(true);
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
    admin.rotate('P2');
    const ck = deriveControlKey(b64uDecode(admin.keystoreEntry('P2').rootKey), 'P2');
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
      () => seen.filter((m) => m.topic.includes('/directory/piles/')).length === 3 || undefined,
      8000,
      'directory',
    );
    await waitFor(() => atPile.length === 2 || undefined, 8000, 'both controls');
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
