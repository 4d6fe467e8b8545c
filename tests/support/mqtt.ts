/**
 * Test support shared by the broker tests (aedes) and the Mosquitto export tests: real mqtt.js clients and the
 * rights scenarios of PROTOCOL §9, measured at a subscriber. Not used in production code.
 */
import type net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { mqttClientId } from '../../node/mqtt-client.js';
import { clientIdPrefixOf, topics } from '../../shared/index.js';

/** A client id the broker accepts for this login (it must carry the login's identity). */
export function testClientId(username: string | undefined): string {
  return mqttClientId((clientIdPrefixOf(username ?? '') ?? 'anonymous-').slice(0, -1));
}

export function connectClient(url: string, username?: string, password?: string, extra: IClientOptions = {}) {
  return new Promise<MqttClient>((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: testClientId(username),
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 4,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...extra,
    });
    client.on('connect', () => {
      (client.stream as net.Socket).setNoDelay?.(true);
      resolve(client);
    });
    client.on('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.on('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/**
 * Connects, retrying a refused login a few times: a login right after a wrong password from the same address
 * meets the broker's back-off (broker/login-gate.ts), as a real client's reconnect would.
 */
export async function connectWithRetry(
  url: string,
  username: string,
  password: string,
  attempts = 10,
  gapMs = 150,
): Promise<MqttClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectClient(url, username, password);
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(gapMs);
    }
  }
}

/** SUBACK return codes for one filter: 0-2 granted, 128 refused. */
export async function subscribeCode(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos ?? -1;
  } catch (err) {
    // mqtt.js rejects a SUBACK 0x80; report it as the code
    if (err instanceof Error && /Subscribe error/.test(err.message)) return 128;
    throw err;
  }
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export function collect(client: MqttClient): Received[] {
  const seen: Received[] = [];
  client.on('message', (topic, payload, packet) =>
    seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return seen;
}

export function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor<T>(
  check: () => T | undefined,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Publishes from `publisher` and reports whether `observer` (already subscribed to a filter covering `topic`)
 * saw it within `windowMs`. A refused publish may close the publisher's connection; that is fine.
 */
export async function reaches(
  publisher: MqttClient,
  observed: Received[],
  topic: string,
  options: { retain?: boolean; windowMs?: number } = {},
): Promise<boolean> {
  const marker = `probe-${Math.random().toString(36).slice(2)}`;
  publisher.publish(topic, marker, { qos: 0, retain: options.retain ?? false });
  const until = Date.now() + (options.windowMs ?? 400);
  while (Date.now() < until) {
    if (observed.some((m) => m.payload === marker)) return true;
    await sleep(10);
  }
  return false;
}

export interface RightsWorld {
  /** where publishers connect (and observers too, without `observerUrl`) */
  url: string;
  /** where the clients whose subscriptions measure a refusal connect: another node of a cluster */
  observerUrl?: string;
  vehicle1: { vid: string; password: string };
  vehicle2: { vid: string; password: string };
  gateway: { gid: string; password: string; pid: string };
  /** a pile not served by `gateway` */
  otherPid: string;
  cloudPassword: string;
}

export const evTopic = topics;
