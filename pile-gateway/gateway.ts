/**
 * The gateway process core: one MQTT connection serving many piles. It subscribes to each pile's auth and
 * control topics, routes every message by topic to its PileRuntime, publishes retained pile and gateway status
 * (with an MQTT will saying online:false), and serves /healthz, /metrics and the operator actions over HTTP.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import pino, { type Logger } from 'pino';
import { type PileLimits, parseTopic, type RandomSource, secureRandom, topics } from '../shared/index.js';
import { type ChargerController, SimulatedCharger } from './charger.js';
import { type LoadedGatewayConfig, loadGatewayConfig } from './config.js';
import { startHttp } from './http.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { PileRuntime } from './pile.js';
import { SessionStore } from './store.js';

export interface StartGatewayOptions {
  now?: () => number;
  random?: RandomSource;
  logger?: Logger;
  /** a real controller per connector; the simulator by default */
  chargerFactory?: (pid: string, connector: number) => ChargerController;
  /** overrides of the handshake limits (tests) */
  limits?: Partial<PileLimits>;
}

export interface RunningGateway {
  gid: string;
  httpPort: number;
  metrics: GatewayMetrics;
  piles: ReadonlyMap<string, PileRuntime>;
  /** resolves once the first MQTT connection is up and statuses are published */
  ready: Promise<void>;
  close(): Promise<void>;
}

export async function startGateway(
  configPath: string,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const loaded: LoadedGatewayConfig = loadGatewayConfig(configPath);
  const { config } = loaded;
  const now = options.now ?? Date.now;
  const random = options.random ?? secureRandom;
  const logger = (options.logger ?? pino({ name: 'pile-gateway' })).child({ gid: config.gid });
  const metrics = createMetrics(config.gid);
  const store = new SessionStore(loaded.dataDir, { sync: config.sqliteSync });

  const gatewayStatus = (online: boolean) => JSON.stringify({ v: 1, gid: config.gid, online });
  const client: MqttClient = mqtt.connect(config.mqtt.url, {
    username: config.mqtt.username,
    password: config.mqtt.password,
    clientId: `gateway-${config.gid}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    will: {
      topic: topics.gatewayStatus(config.gid),
      payload: Buffer.from(gatewayStatus(false)),
      qos: 1,
      retain: true,
    },
  });

  const publish = (topic: string, payload: string, opts: { retain?: boolean } = {}) => {
    client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (error) => {
      if (error) logger.warn({ err: error, topic }, 'publish failed');
    });
  };

  const piles = new Map<string, PileRuntime>();
  for (const pile of config.piles) {
    const chargers = new Map<number, ChargerController>();
    for (const c of pile.connectors) {
      chargers.set(
        c.id,
        options.chargerFactory?.(pile.pid, c.id) ?? new SimulatedCharger({ rampMs: config.rampMs, now }),
      );
    }
    piles.set(
      pile.pid,
      new PileRuntime({
        gid: config.gid,
        pile,
        key: loaded.keys.get(pile.pid)!,
        store,
        chargers,
        publish,
        now,
        random,
        meterIntervalMs: config.meterIntervalMs,
        metrics,
        logger,
        limits: options.limits,
      }),
    );
  }

  client.on('message', (topic, payload, packet) => {
    const parsed = parseTopic(topic);
    const pile = parsed && 'pid' in parsed ? piles.get(parsed.pid) : undefined;
    if (!pile || !parsed) {
      metrics.dropped.inc({ reason: 'unknown-topic' });
      return;
    }
    try {
      if (parsed.kind === 'pileAuth') pile.handleAuth(payload, packet.retain);
      else if (parsed.kind === 'pileControl') pile.handleControl(payload);
      else metrics.dropped.inc({ reason: 'unknown-topic' });
    } catch (error) {
      // One bad message must never take the gateway down.
      metrics.dropped.inc({ reason: 'internal' });
      logger.error({ err: error, topic }, 'message handling failed');
    }
  });

  let connected = false;
  let closed = false;
  let recovered = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  const subscriptions: Record<string, { qos: 1 }> = {};
  for (const pid of piles.keys()) {
    subscriptions[topics.pileAuth(pid)] = { qos: 1 };
    subscriptions[topics.pileControl(pid)] = { qos: 1 };
  }

  client.on('connect', () => {
    // Nagle plus delayed ACK stalls every QoS-1 round trip by tens of ms.
    (client.stream as net.Socket).setNoDelay?.(true);
    connected = true;
    logger.info({ url: config.mqtt.url }, 'connected to broker');
    client.subscribe(subscriptions, (error, granted) => {
      if (error) logger.error({ err: error }, 'subscribe failed');
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (refused.length > 0) logger.error({ refused }, 'broker refused subscriptions');
      if (!recovered) {
        recovered = true;
        for (const pile of piles.values()) pile.recoverOpenSessions();
      }
      publish(topics.gatewayStatus(config.gid), gatewayStatus(true), { retain: true });
      for (const pile of piles.values()) {
        pile.setOnline(true);
        pile.publishStatus();
      }
      logger.info({ piles: piles.size }, 'serving piles');
      resolveReady();
    });
  });
  client.on('close', () => {
    if (connected && !closed) logger.warn('disconnected from broker; reconnecting');
    connected = false;
  });
  client.on('error', (error) => logger.warn({ err: error.message }, 'mqtt error'));

  const tick = setInterval(() => {
    for (const pile of piles.values()) pile.tick();
  }, 1000);

  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    http = await startHttp(config.http?.host ?? '127.0.0.1', config.http?.port ?? 0, {
      registry: metrics.registry,
      health: () => ({
        ok: connected,
        gid: config.gid,
        mqtt: connected ? 'connected' : 'disconnected',
        piles: piles.size,
        activeSessions: [...piles.values()].reduce((n, p) => n + p.activeSessionCount, 0),
      }),
      charger: (pid, connector) => piles.get(pid)?.chargers.get(connector),
    });
  } catch (error) {
    // e.g. the HTTP port is taken: leave nothing running behind.
    closed = true;
    clearInterval(tick);
    client.end(true);
    store.closeDatabase();
    throw new Error(`cannot serve HTTP on port ${config.http?.port ?? 0}: ${(error as Error).message}`);
  }
  logger.info({ httpPort: http.port, piles: piles.size }, 'gateway started');

  return {
    gid: config.gid,
    httpPort: http.port,
    metrics,
    piles,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      for (const pile of piles.values()) {
        pile.endAll('gateway-shutdown');
        pile.setOnline(false);
        if (connected) pile.publishStatus();
      }
      if (connected) publish(topics.gatewayStatus(config.gid), gatewayStatus(false), { retain: true });
      // Flush queued messages when the broker is there; never hang on one that is gone.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => client.end(true, {}, () => resolve()), connected ? 1000 : 0);
        client.end(!connected, {}, () => {
          clearTimeout(force);
          resolve();
        });
      });
      await http.close();
      store.closeDatabase();
      logger.info('gateway stopped');
    },
  };
}
