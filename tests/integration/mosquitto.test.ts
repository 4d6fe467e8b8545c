/** The core flow again on Debian's Mosquitto, configured only by `evauth-cloud export-mosquitto`. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TSX } from '../../node/child-process.js';
import { MAX_CONTROL_PAYLOAD_BYTES, secureRandom, topics, VehicleHandshake } from '../../shared/index.js';
import { collect, connectClient, waitFor } from '../support/mqtt.js';
import { RawVehicle } from '../support/raw-vehicle.js';
import { credentialFor, TestSystem } from '../support/system.js';

const run = promisify(execFile);
let system: TestSystem;

beforeAll(async () => {
  system = await new TestSystem({
    broker: 'mosquitto',
    vehicles: [
      { vid: 'MQ-A', grant: { scope: 'all' } },
      { vid: 'MQ-B', grant: { scope: 'pile', target: 'IT-P1' } },
      { vid: 'MQ-C', grant: { scope: 'all' } },
    ],
  }).start();
});

afterAll(async () => {
  await system?.close();
});

describe('on Mosquitto', () => {
  it('authenticates, verifies every meter and the receipt with the headless client', async () => {
    const { stdout } = await run(TSX, [
      'head-unit/cli/main.ts',
      '-p',
      system.provisioningFile('MQ-A'),
      '--pile',
      'IT-P2',
      '-s',
      '2',
      '--json',
    ]);
    const out = JSON.parse(stdout);
    expect(out.ok).toBe(true);
    expect(out.meters.length).toBeGreaterThanOrEqual(5);
    expect(out.rejected).toEqual([]);
    expect(out.receipt.reason).toBe('stopped');
    expect(out.receipt.wh).toBeGreaterThanOrEqual(out.meters.at(-1).wh);
  });

  it('keeps one vehicle away from another vehicle’s topics and refuses bad logins', async () => {
    const b = system.provisioned.get('MQ-B')!;
    const raw = await RawVehicle.connect(b, system.mqttUrl);
    try {
      // mqtt.js turns a SUBACK refusal (0x80) into a rejected subscribe
      await expect(raw.client.subscribeAsync(topics.vehicleAll('MQ-A'), { qos: 1 })).rejects.toThrow(
        /Subscribe/,
      );
    } finally {
      await raw.close();
    }
    const wrong = { ...b, mqtt: { ...b.mqtt, password: 'not-the-password' } };
    await expect(RawVehicle.connect({ ...wrong }, system.mqttUrl)).rejects.toThrow(
      /Not authorized|Bad user/i,
    );
  });

  it('a retained auth.request (Mosquitto cannot refuse one) is ignored when it comes back on resubscribe', async () => {
    const a = system.provisioned.get('MQ-A')!;
    const client = await system.vehicle(a);
    const credential = await credentialFor(client, 'IT-P1');
    const raw = await RawVehicle.connect(a, system.mqttUrl);
    try {
      const hs = new VehicleHandshake({
        vid: 'MQ-A',
        credential,
        connector: 2,
        now: Date.now,
        random: secureRandom,
      });
      const request = hs.start();
      const sid = JSON.parse(request.payload).sid;
      await raw.client.publishAsync(request.topic, request.payload, { qos: 1, retain: true });
      // Delivered live (retain flag cleared by the broker), it is an ordinary request and answered.
      expect((await raw.next((m) => m.sid === sid)).type).toBe('auth.challenge');
      // A restarted gateway gets the stored copy flagged retained on subscribe: ignored, never answered.
      await system.gateway.stop();
      await system.startGateway();
      await new Promise((r) => setTimeout(r, 500));
      expect(raw.pending().filter((m) => m.sid === sid)).toEqual([]);
      expect(await system.gatewayMetrics()).toMatch(
        /evauth_gateway_messages_dropped_total\{reason="retained",gid="gw-it"\} 1/,
      );
      await raw.client.publishAsync(request.topic, '', { qos: 1, retain: true });
    } finally {
      await raw.close();
    }
  });

  it('a revoked vehicle is cut off and refused at once, with no re-export or reload (dynamic security)', async () => {
    const c = system.provisioned.get('MQ-C')!;
    const raw = await RawVehicle.connect(c, system.mqttUrl);
    const closed = new Promise<void>((resolve) => raw.client.once('close', () => resolve()));
    const revokedAt = Date.now();
    await system.registry.revokeVehicle('MQ-C'); // as the CLI does, while everything runs
    await closed;
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    await raw.close();
    await expect(RawVehicle.connect(c, system.mqttUrl)).rejects.toThrow(/Not authorized|Bad user/i);
    // the others are untouched
    const a = await RawVehicle.connect(system.provisioned.get('MQ-A')!, system.mqttUrl);
    await a.close();
  });

  it('carries a 256 KiB pile.control from the cloud login to the gateway login (max_packet_size)', async () => {
    const config = JSON.parse(readFileSync(join(system.gatewayDir, 'config.json'), 'utf8'));
    const gateway = await connectClient(system.mqttUrl, config.mqtt.username, config.mqtt.password);
    const cloud = await connectClient(system.mqttUrl, 'cloud', system.registry.cloudPassword());
    try {
      const received = collect(gateway);
      await gateway.subscribeAsync(topics.pileControl('IT-P2'), { qos: 1 });
      // not a valid body (the gateway drops it): only its size matters here
      await cloud.publishAsync(topics.pileControl('IT-P2'), Buffer.alloc(MAX_CONTROL_PAYLOAD_BYTES, 0x41), {
        qos: 1,
      });
      const got = await waitFor(
        () => received.find((m) => m.payload.length === MAX_CONTROL_PAYLOAD_BYTES),
        5000,
      );
      expect(got.topic).toBe(topics.pileControl('IT-P2'));
    } finally {
      await Promise.all([gateway.endAsync(), cloud.endAsync()]);
    }
  });
});
