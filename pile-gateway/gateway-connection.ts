/**
 * The gateway's one MQTT connection: connects with a will saying the gateway is offline, subscribes to its
 * piles' topics in batches on every (re)connection, hands every message on with whether it came retained, and
 * knows whether it is online. It knows nothing of piles or sessions.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { closeMqtt, connectMqtt, currentNode } from '../node/mqtt-client.js';
import { topics } from '../shared/index.js';
import type { Publish } from './active-session.js';
import { gatewayStatusPayload } from './gateway-status.js';

/** Topics per SUBSCRIBE packet: ~40 bytes each keeps a batch far below a 64 KiB packet limit. */
export const SUBSCRIBE_BATCH = 500;

/**
 * Broker rights allow a gateway its own piles' topics one by one, not a wildcard, and thousands of piles do not
 * fit one SUBSCRIBE under the broker's packet limit: so in batches. Returns the topics the broker refused.
 */
export async function subscribeInBatches(
  client: MqttClient,
  subscriptions: readonly string[],
  logger?: Logger,
): Promise<string[]> {
  const refused: string[] = [];
  for (let at = 0; at < subscriptions.length; at += SUBSCRIBE_BATCH) {
    const batch = subscriptions.slice(at, at + SUBSCRIBE_BATCH);
    try {
      await client.subscribeAsync(Object.fromEntries(batch.map((t) => [t, { qos: 1 as const }])));
    } catch (error) {
      // mqtt.js rejects a batch with any refused topic, but hands on the SUBACK: the rest were granted.
      const granted = (error as { packet?: { granted?: unknown[] } }).packet?.granted;
      if (granted?.length === batch.length) {
        granted.forEach((code, i) => {
          if (typeof code === 'number' && code >= 0x80) refused.push(batch[i]!);
        });
        continue;
      }
      logger?.error({ err: (error as Error).message, batch: at / SUBSCRIBE_BATCH }, 'subscribe failed');
      refused.push(...batch);
    }
  }
  return refused;
}

export interface GatewayConnectionOptions {
  gid: string;
  /** `urls`: every broker node of a cluster in failover order, beginning with `url` */
  mqtt: { url: string; urls?: readonly string[]; username: string; password: string };
  /** subscribed on every (re)connection */
  subscriptions: readonly string[];
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
  /** after every (re)connection, once the subscriptions are made (refused ones are logged) */
  onSubscribed(): void;
  logger: Logger;
  /** writes out gathered log lines (the milestones should show at once) */
  flushLog?(): void;
}

export interface GatewayConnection {
  readonly connected: boolean;
  /** QoS 1; a failure is logged */
  publish: Publish;
  /** flushes what is queued while the broker is there, never hangs on one that is gone */
  close(): Promise<void>;
}

export function connectGateway(options: GatewayConnectionOptions): GatewayConnection {
  const { gid, logger } = options;
  const flushLog = () => options.flushLog?.();
  const client = connectMqtt({
    urls: options.mqtt.urls ?? options.mqtt.url,
    username: options.mqtt.username,
    password: options.mqtt.password,
    clientIdPrefix: `gateway-${gid}`,
    reconnectPeriodMs: 500,
    connectTimeoutMs: 5000,
    will: {
      topic: topics.gatewayStatus(gid),
      payload: gatewayStatusPayload(gid, false),
      qos: 1,
      retain: true,
    },
    // Rescheduling the keep-alive timer on every packet sent is a timer allocation per publish; the gateway
    // talks constantly, so one PINGREQ per keep-alive period regardless costs nothing.
    extra: { reschedulePings: false },
  });
  let connected = false;
  let closing = false;

  client.on('message', (topic, payload, packet) => options.onMessage(topic, payload, packet.retain));
  client.on('connect', () => {
    connected = true;
    logger.info({ url: currentNode(client) }, 'connected to broker');
    flushLog();
    void subscribeInBatches(client, options.subscriptions, logger).then((refused) => {
      if (refused.length > 0)
        logger.error(
          { refused: refused.slice(0, 20), count: refused.length },
          'broker refused subscriptions',
        );
      if (!closing) options.onSubscribed();
    });
  });
  client.on('close', () => {
    if (connected && !closing) logger.warn('disconnected from broker; reconnecting');
    connected = false;
  });
  client.on('error', (error) => logger.warn({ err: error.message }, 'mqtt error'));

  return {
    get connected() {
      return connected;
    },
    publish(topic, payload, opts = {}) {
      client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (error) => {
        if (error) logger.warn({ err: error, topic }, 'publish failed');
      });
    },
    close() {
      closing = true;
      return closeMqtt(client);
    },
  };
}
