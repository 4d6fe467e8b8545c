/**
 * The MQTT client every Node party uses (gateway, cloud service, tests and benchmarks): mqtt.js with TCP
 * no-delay on every (re)connection, a client id that carries the login's identity, mqtt.js's debug log off unless
 * asked for, an optional will, failover over every broker node in order (PROTOCOL §11 `mqtt.urls`), and a close
 * that flushes what is queued but never hangs on a broker that is gone.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { mqttClientLog } from '../shared/mqtt-log.js';
import { mqttFailover } from '../shared/mqtt-servers.js';

export interface MqttClientOptions {
  /** broker URLs in order of preference; a client that loses one reconnects to the next */
  urls: string | readonly string[];
  username: string;
  password: string;
  /** the client id is `${clientIdPrefix}-${8 random hex}`; the prefix names the login (e.g. `gateway-gw-1`) */
  clientIdPrefix: string;
  /** default true: no session state kept by the broker */
  clean?: boolean;
  /** default 1000 */
  reconnectPeriodMs?: number;
  /** default 10 000 */
  connectTimeoutMs?: number;
  will?: { topic: string; payload: string; qos?: 0 | 1; retain?: boolean };
  /** any other mqtt.js option (e.g. reschedulePings, keepalive) */
  extra?: IClientOptions;
}

export function mqttClientId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Connects (asynchronously: listen for 'connect') with the evauth defaults. */
export function connectMqtt(options: MqttClientOptions): MqttClient {
  const failover = mqttFailover(options.urls);
  const client = mqtt.connect(failover.url, {
    username: options.username,
    password: options.password,
    clientId: mqttClientId(options.clientIdPrefix),
    clean: options.clean ?? true,
    protocolVersion: 4,
    reconnectPeriod: options.reconnectPeriodMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    log: mqttClientLog(process.env.DEBUG),
    // the next node on each reconnect, also after a node refused the CONNECT (shared/mqtt-servers.ts)
    ...failover.options,
    ...(options.will
      ? {
          will: {
            topic: options.will.topic,
            payload: Buffer.from(options.will.payload),
            qos: options.will.qos ?? 1,
            retain: options.will.retain ?? false,
          },
        }
      : {}),
    ...options.extra,
  });
  // Nagle plus delayed ACK stalls every QoS-1 round trip by tens of ms.
  client.on('connect', () => (client.stream as net.Socket).setNoDelay?.(true));
  return client;
}

/**
 * Connects to the first node that accepts, trying each of `urls` once in order; rejects with the last node's
 * error (and leaves no client behind) when none does.
 */
export async function connectMqttAsync(options: MqttClientOptions): Promise<MqttClient> {
  const urls = typeof options.urls === 'string' ? [options.urls] : [...options.urls];
  let lastError: Error = new Error('connectMqttAsync: no broker URL');
  for (const url of urls) {
    try {
      return await connectOnce({ ...options, urls: url });
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw lastError;
}

function connectOnce(options: MqttClientOptions): Promise<MqttClient> {
  const client = connectMqtt({ reconnectPeriodMs: 0, ...options });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      client.end(true);
      reject(error);
    };
    client.once('connect', () => {
      client.off('error', fail);
      resolve(client);
    });
    client.once('error', fail);
  });
}

/**
 * Ends the client: what is queued is flushed while the broker is there, but the close never waits more than
 * `graceMs` (a broker that is gone would otherwise hold the caller's shutdown forever).
 */
export function closeMqtt(client: MqttClient, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => client.end(true, {}, () => resolve()), client.connected ? graceMs : 0);
    client.end(!client.connected, {}, () => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** The node a client is connected to now (or last tried), as `protocol://host:port`: for logs. */
export function currentNode(client: MqttClient): string {
  const { protocol, hostname, host, port } = client.options;
  return `${protocol}://${hostname ?? host}:${port}`;
}
