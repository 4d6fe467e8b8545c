/** The gateway's start and stop against a real broker: presence on the way out, a taken port, a broker gone. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../broker/index.js';
import { MemoryCredentialStore, VehicleClient } from '../../head-unit/vehicle/index.js';
import { startGateway } from '../../pile-gateway/gateway.js';
import {
  makePile,
  makeVehicle,
  removeTempDirs,
  type TestPile,
  tempDir,
  writeGatewayFolder,
} from '../../pile-gateway/testkit.js';
import { startTestBroker } from '../support/test-broker.js';

const PASSWORD = 'test-password';
const silent = pino({ level: 'silent' });
const piles: TestPile[] = [makePile('GW-P1'), makePile('GW-P2')];
let broker: RunningBroker;
let url: string;

beforeAll(async () => {
  broker = await startTestBroker({ password: PASSWORD, piles: piles.map((p) => p.pid) });
  url = `mqtt://127.0.0.1:${broker.mqttPort}`;
});

afterAll(async () => {
  await broker?.close();
  removeTempDirs();
});

async function startTestGateway() {
  const configPath = writeGatewayFolder(tempDir('gw'), {
    gid: 'gw-t',
    mqttUrl: url,
    password: PASSWORD,
    piles,
  });
  const gw = await startGateway(configPath, { logger: silent });
  await gw.ready;
  return { gw };
}

async function startVehicle(vid: string) {
  const provisioning = makeVehicle(vid, url, PASSWORD);
  const client = new VehicleClient({ provisioning, store: new MemoryCredentialStore() });
  await client.start();
  return { client };
}

describe('gateway shutdown', () => {
  it('marks its piles offline and itself online:false when it stops', async () => {
    const { gw } = await startTestGateway();
    const { client } = await startVehicle('car-7');
    try {
      const deadline = Date.now() + 3000;
      while (client.gatewayStatus.get('gw-t')?.online !== true && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const offline = new Promise<void>((resolve) => {
        client.on('gateway-status', ({ status }) => {
          if (status?.online === false) resolve();
        });
      });
      await gw.close();
      await offline;
      const states = piles.flatMap((p) => client.pileStatus.get(p.pid)?.connectors.map((c) => c.state) ?? []);
      expect(states).toEqual(['offline', 'offline', 'offline', 'offline']);
    } finally {
      await client.close();
    }
  });

  it('fails to start with a clear message when its HTTP port is taken', async () => {
    const blocker = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const configPath = writeGatewayFolder(tempDir('gw'), {
      gid: 'gw-t',
      mqttUrl: url,
      password: PASSWORD,
      piles,
      httpPort: port,
    });
    try {
      await expect(startGateway(configPath, { logger: silent })).rejects.toThrow(/cannot serve HTTP on port/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('stops cleanly even when the broker is gone', async () => {
    const own = await startTestBroker({ password: PASSWORD, piles: piles.map((p) => p.pid) });
    const configPath = writeGatewayFolder(tempDir('gw'), {
      gid: 'gw-t',
      mqttUrl: `mqtt://127.0.0.1:${own.mqttPort}`,
      password: PASSWORD,
      piles,
    });
    const gw = await startGateway(configPath, { logger: silent });
    await gw.ready;
    await own.close();
    const started = Date.now();
    await gw.close();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
