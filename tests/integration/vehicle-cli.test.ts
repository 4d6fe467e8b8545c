import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { ROOT, TSX } from '../../node/child-process.js';
import { type RunningGateway, startGateway } from '../../pile-gateway/index.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  sealedCredentialFor,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { checkReceiptOcmf, signKeyOf, verifyReceipt } from '../../shared/index.js';
import { testClientId } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const run = promisify(execFile);
const PASSWORD = 'cli-test-password';
const pile = makePile('CLI-P1');
const CLI = path.join(ROOT, 'head-unit/cli/main.ts');

let broker: RunningBroker;
let gateway: RunningGateway;
let url: string;
let dir: string;

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: [pile.pid], gid: 'gw-cli' });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
  dir = tempDir('cli');
  const configPath = writeGatewayFolder(path.join(dir, 'gw'), {
    gid: 'gw-cli',
    mqttUrl: url,
    password: PASSWORD,
    piles: [pile],
  });
  gateway = await startGateway(configPath, { logger: pino({ level: 'silent' }) });
  await gateway.ready;
});

afterAll(async () => {
  await gateway?.close();
  await broker?.close();
  removeTempDirs();
});

describe('evauth-vehicle', () => {
  it('charges, verifies every reading and prints the receipt as JSON', async () => {
    const vehicle = makeVehicle('cli-car', url, PASSWORD);
    const provisioningFile = path.join(dir, 'cli-car.json');
    fs.writeFileSync(provisioningFile, JSON.stringify(vehicle));
    const sealed = sealedCredentialFor(vehicle, pile);
    const cloud = await mqtt.connectAsync(url, {
      clientId: testClientId('cloud'),
      username: 'cloud',
      password: PASSWORD,
    });
    await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
    await cloud.endAsync();
    const { stdout } = await run(TSX, [CLI, '-p', provisioningFile, '--pile', pile.pid, '-s', '1', '--json']);
    const out = JSON.parse(stdout);
    expect(out.ok).toBe(true);
    expect(out.meters.length).toBeGreaterThanOrEqual(3);
    expect(out.rejected).toEqual([]);
    expect(out.receipt.reason).toBe('stopped');
    expect(out.steps.map((s: { step: string }) => s.step)).toContain('pile-verified');
    // the receipt verifies against the gateway's own record of the session key
    const sidBytes = Buffer.from(out.sid, 'base64url');
    const { SessionStore } = await import('../../pile-gateway/store.js');
    const store = new SessionStore(path.join(dir, 'gw', 'data'));
    const record = store.get(out.sid);
    store.closeDatabase();
    expect(verifyReceipt(record!.sk, sidBytes, out.receiptMessage.body, out.receiptMessage.mac)).toBe(true);
  });

  it('keeps each receipt beside its credentials and exports their OCMF records (receipts --export)', async () => {
    const vehicle = makeVehicle('cli-car-2', url, PASSWORD);
    const provisioningFile = path.join(dir, 'cli-car-2.json');
    fs.writeFileSync(provisioningFile, JSON.stringify(vehicle));
    const sealed = sealedCredentialFor(vehicle, pile);
    const cloud = await mqtt.connectAsync(url, {
      clientId: testClientId('cloud'),
      username: 'cloud',
      password: PASSWORD,
    });
    await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
    await cloud.endAsync();
    const state = path.join(dir, 'state-2');
    const credentials = path.join(state, 'credentials.json');
    const charges = [];
    for (let i = 0; i < 2; i++) {
      const charged = ['-p', provisioningFile, '--pile', pile.pid, '-s', '0', '--credentials', credentials];
      const { stdout } = await run(TSX, [CLI, ...charged, '--json']);
      charges.push(JSON.parse(stdout));
    }
    expect(charges.map((c) => c.signedByCharger)).toEqual([true, true]);
    expect(fs.statSync(path.join(state, 'receipts.json')).mode & 0o077).toBe(0);

    const out = path.join(dir, 'exported');
    const exported = await run(TSX, [CLI, 'receipts', '--credentials', credentials, '--export', out]);
    expect(exported.stdout).toMatch(/2 OCMF records written to /);
    const files = fs.readdirSync(out).sort();
    expect(files).toHaveLength(2);
    const texts = files.map((f) => fs.readFileSync(path.join(out, f), 'utf8'));
    expect(texts.sort()).toEqual(charges.map((c) => `${c.ocmf}\n`).sort());
    for (const [i, charge] of charges.entries()) {
      const checked = checkReceiptOcmf(charge.ocmf, {
        signKey: signKeyOf(pile.signingKey!),
        tid: sealed.tid,
        pid: pile.pid,
        connector: 1,
        wh: charge.receipt.wh,
      });
      expect(checked.ok, `receipt ${i}`).toBe(true);
    }
    const listed = await run(TSX, [CLI, 'receipts', '--credentials', credentials, '-p', provisioningFile]);
    expect(listed.stdout.trim().split('\n')).toHaveLength(2);
    expect(listed.stdout).toContain('signed by the charger');
    const none = await run(TSX, [CLI, 'receipts', '--export', out]).catch((e: unknown) => e);
    expect((none as { code: number; stderr: string }).stderr).toBe(
      'evauth-vehicle: say where the receipts are kept: --credentials <file> or --receipts <file>\n',
    );
  });

  it('exits non-zero with a clear message for a bad provisioning file', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ v: 1, vid: 'x' }));
    const error = await run(TSX, [CLI, '-p', bad, '--pile', pile.pid]).catch((e: unknown) => e);
    const e = error as { code: number; stderr: string };
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/^evauth-vehicle: provisioning file .*bad\.json/);
    expect(e.stderr).not.toMatch(/\n\s+at /);
  });
});
