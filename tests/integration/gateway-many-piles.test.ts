/** One gateway serving more piles than fit one SUBSCRIBE packet: every pile is still reachable. */

import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { startGateway } from '../../pile-gateway/gateway.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  sealedCredentialFor,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { testClientId } from '../support/mqtt.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
// 1,500 piles = 3,000 topics, ~110 KB in one SUBSCRIBE: over the broker's packet limit unless batched.
const piles = Array.from({ length: 1500 }, (_, i) => makePile(`MANY-${String(i).padStart(4, '0')}`, 1));
const pileIds = new Set(piles.map((p) => p.pid));

let broker: RunningBroker;
let url: string;

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: pileIds });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
});

afterAll(async () => {
  await broker?.close();
  removeTempDirs();
});

describe('a gateway with 1,500 piles', () => {
  it('subscribes to every pile in batches and authenticates a vehicle at the first and the last pile', async () => {
    const configPath = writeGatewayFolder(tempDir('many'), {
      gid: 'gw-many',
      mqttUrl: url,
      password: PASSWORD,
      piles,
    });
    const gw = await startGateway(configPath, { logger: pino({ level: 'silent' }) });
    const cloud = await mqtt.connectAsync(url, {
      clientId: testClientId('cloud'),
      username: 'cloud',
      password: PASSWORD,
    });
    const provisioning = makeVehicle('car-many', url, PASSWORD);
    const client = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
    try {
      await gw.ready;
      await client.start();
      for (const pile of [piles[0]!, piles[piles.length - 1]!]) {
        const sealed = sealedCredentialFor(provisioning, pile);
        const got = client.once('credential');
        await cloud.publishAsync(sealed.topic, sealed.payload, { qos: 1, retain: true });
        await got;
        const outcome = await client.authenticate(pile.pid, 1);
        expect(outcome.ok).toBe(true);
        if (outcome.ok) await outcome.session.stop();
      }
    } finally {
      await client.close();
      await cloud.endAsync();
      await gw.close();
    }
  });
});
