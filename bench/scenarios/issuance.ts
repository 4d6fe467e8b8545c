/**
 * Scenario 3: how fast the cloud issues credentials and publishes them (retained), and how much broker memory
 * 100,000 retained credentials take. Every vehicle is granted every pile; the vehicles are subscribed before the
 * cloud starts, so the clock runs from the cloud's start to the last sealed credential delivered.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startCloudService } from '../../cloud/index.js';
import { topics } from '../../shared/index.js';
import { loadavg, rssMB } from '../lib/machine.js';
import { createFleet, removeFleet, startBrokerProcess } from '../lib/system.js';

export interface IssuanceResult {
  vehicles: number;
  piles: number;
  credentials: number;
  /** cloud start → the last credential received by its vehicle */
  issueMs: number;
  /** cloud start → first credential delivered: the cloud signs everything in one pass before publishing */
  firstDeliveryMs: number;
  issuedPerS: number;
  delivered: number;
  brokerRssBeforeMB: number;
  brokerRssAfterMB: number;
  /** broker RSS growth per retained credential */
  bytesPerCredential: number;
  loadavg1: number;
  error?: string;
}

export async function issuanceScenario(options: {
  quick: boolean;
  vehicles?: number;
  piles?: number;
  log?: (line: string) => void;
}): Promise<IssuanceResult> {
  const log = options.log ?? (() => {});
  const vehicles = options.vehicles ?? (options.quick ? 20 : 100);
  const piles = options.piles ?? (options.quick ? 500 : 1000);
  const fleet = await createFleet({ piles, vehicles });
  for (const v of fleet.vehicles) await fleet.registry.grant(v.vid, { scope: 'all' });
  const total = vehicles * piles;
  const result: IssuanceResult = {
    vehicles,
    piles,
    credentials: total,
    issueMs: 0,
    firstDeliveryMs: 0,
    issuedPerS: 0,
    delivered: 0,
    brokerRssBeforeMB: 0,
    brokerRssAfterMB: 0,
    bytesPerCredential: 0,
    loadavg1: loadavg()[0],
  };
  const broker = await startBrokerProcess(fleet, 'aedes');
  const clients: MqttClient[] = [];
  let cloud: Awaited<ReturnType<typeof startCloudService>> | undefined;
  try {
    let delivered = 0;
    let t0 = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    for (const v of fleet.vehicles) {
      const client = await mqtt.connectAsync(broker.url, {
        clientId: `vehicle-${v.vid}-issuance`,
        username: v.username,
        password: v.password,
        reconnectPeriod: 0,
      });
      (client.stream as net.Socket).setNoDelay?.(true);
      client.on('message', (_topic, payload) => {
        if (payload.length === 0) return;
        if (delivered === 0) result.firstDeliveryMs = Math.round(performance.now() - t0);
        if (++delivered === total) done();
      });
      await client.subscribeAsync(topics.credential(v.vid, '+'), { qos: 1 });
      clients.push(client);
    }
    await new Promise((r) => setTimeout(r, 500));
    result.brokerRssBeforeMB = rssMB(broker.service.pid) ?? 0;
    t0 = performance.now();
    cloud = await startCloudService({
      dataDir: fleet.dataDir,
      mqttUrl: broker.url,
      logger: pino({ level: 'silent' }),
    });
    const timeout = new Promise<void>((resolve) =>
      setTimeout(resolve, options.quick ? 60_000 : 300_000).unref(),
    );
    await Promise.race([all, timeout]);
    result.issueMs = Math.round(performance.now() - t0);
    result.delivered = delivered;
    if (delivered < total) result.error = `only ${delivered} of ${total} credentials arrived in time`;
    result.issuedPerS = Math.round((delivered / result.issueMs) * 1000);
    // Vehicles leave; the broker keeps holding the retained credentials.
    await Promise.all(clients.splice(0).map((c) => c.endAsync()));
    await new Promise((r) => setTimeout(r, 1500));
    result.brokerRssAfterMB = rssMB(broker.service.pid) ?? 0;
    result.bytesPerCredential = Math.round(
      ((result.brokerRssAfterMB - result.brokerRssBeforeMB) * 2 ** 20) / Math.max(1, delivered),
    );
    log(
      `  ${delivered}/${total} credentials in ${result.issueMs} ms (${result.issuedPerS}/s; first after ${result.firstDeliveryMs} ms), broker RSS ${result.brokerRssBeforeMB} → ${result.brokerRssAfterMB} MB`,
    );
  } catch (error) {
    result.error = (error as Error).message.slice(0, 2000);
    log(`  issuance failed: ${result.error}`);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
    await cloud?.close();
    await broker.service.stop();
    await removeFleet(fleet);
  }
  result.loadavg1 = loadavg()[0];
  return result;
}
