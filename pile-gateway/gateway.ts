/**
 * The gateway process core: one MQTT connection serving many piles. It subscribes to each pile's auth and
 * control topics, routes every message by topic to its PileRuntime, publishes retained pile and gateway status
 * (with an MQTT will saying online:false), and serves /healthz, /metrics and the operator actions over HTTP.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { nodeCryptoBackend, pooledSecureRandom } from '../node/crypto.js';
import { createBatchedLog, logLevel } from '../node/logger.js';
import { closeMqtt, connectMqtt, currentNode } from '../node/mqtt-client.js';
import {
  installCryptoBackend,
  type PileLimits,
  parseTopic,
  type RandomSource,
  topics,
} from '../shared/index.js';
import { type ChargerController, SimulatedCharger } from './charger.js';
import { type LoadedGatewayConfig, loadGatewayConfig } from './config.js';
import { startHttp } from './http.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createStations, type OcppEndpoint, startOcppEndpoint } from './ocpp/endpoint.js';
import { PileRuntime } from './pile.js';
import { type SessionRecord, SessionStore } from './store.js';

/** Topics per SUBSCRIBE packet: ~40 bytes each keeps a batch far below a 64 KiB packet limit. */
export const SUBSCRIBE_BATCH = 500;

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
  /** the OCPP-J endpoint's port, when the config has "ocpp" */
  ocppPort?: number;
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
  // The gateway is a Node process on the hot path: HMAC and HKDF through OpenSSL, randomness drawn in pools.
  installCryptoBackend(nodeCryptoBackend);
  const random = options.random ?? pooledSecureRandom();
  // Two lines per session: gathered into few asynchronous writes (see log.ts).
  const log = options.logger ? undefined : createBatchedLog('pile-gateway', logLevel());
  const logger = (options.logger ?? log!.logger).child({ gid: config.gid });
  const flushLog = () => log?.flush();
  const metrics = createMetrics(config.gid);
  const store = new SessionStore(loaded.dataDir, { sync: config.sqliteSync });

  const gatewayStatus = (online: boolean) => JSON.stringify({ v: 1, gid: config.gid, online });
  const client: MqttClient = connectMqtt({
    urls: config.mqtt.urls ?? config.mqtt.url,
    username: config.mqtt.username,
    password: config.mqtt.password,
    clientIdPrefix: `gateway-${config.gid}`,
    reconnectPeriodMs: 500,
    connectTimeoutMs: 5000,
    will: { topic: topics.gatewayStatus(config.gid), payload: gatewayStatus(false), qos: 1, retain: true },
    // Rescheduling the keep-alive timer on every packet sent is a timer allocation per publish; the gateway
    // talks constantly, so one PINGREQ per keep-alive period regardless costs nothing.
    extra: { reschedulePings: false },
  });

  const publish = (topic: string, payload: string, opts: { retain?: boolean } = {}) => {
    client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (error) => {
      if (error) logger.warn({ err: error, topic }, 'publish failed');
    });
  };

  // The chargers of OCPP piles are their stations' connectors; every other pile has the simulator.
  const stations = createStations(config, logger);
  const piles = new Map<string, PileRuntime>();
  for (const pile of config.piles) {
    const station = pile.charger.kind === 'ocpp' ? stations.get(pile.charger.stationId) : undefined;
    const chargers = new Map<number, ChargerController>();
    for (const c of pile.connectors) {
      chargers.set(
        c.id,
        options.chargerFactory?.(pile.pid, c.id) ??
          station?.chargers.get(c.id) ??
          new SimulatedCharger({ rampMs: config.rampMs, now }),
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
  // Broker rights allow a gateway its own piles' topics one by one, not a wildcard. Thousands of piles do not
  // fit one SUBSCRIBE under the broker's packet limit, so subscribe in batches.
  const subscriptionTopics = [...piles.keys()].flatMap((pid) => [
    topics.pileAuth(pid),
    topics.pileControl(pid),
  ]);
  const subscribeAll = async (): Promise<string[]> => {
    const refused: string[] = [];
    for (let at = 0; at < subscriptionTopics.length; at += SUBSCRIBE_BATCH) {
      const batch = subscriptionTopics.slice(at, at + SUBSCRIBE_BATCH);
      try {
        const granted = await client.subscribeAsync(
          Object.fromEntries(batch.map((t) => [t, { qos: 1 as const }])),
        );
        for (const g of granted) if (g.qos === 128) refused.push(g.topic);
      } catch (error) {
        logger.error({ err: (error as Error).message, batch: at / SUBSCRIBE_BATCH }, 'subscribe failed');
        refused.push(...batch);
      }
    }
    return refused;
  };

  client.on('connect', () => {
    connected = true;
    logger.info({ url: currentNode(client) }, 'connected to broker');
    flushLog();
    void subscribeAll().then((refused) => {
      if (refused.length > 0)
        logger.error(
          { refused: refused.slice(0, 20), count: refused.length },
          'broker refused subscriptions',
        );
      if (!recovered) {
        recovered = true;
        // One query for all piles: per pile it was a scan of every open session for each of them.
        const open = new Map<string, SessionRecord[]>();
        for (const record of store.openSessions()) {
          const records = open.get(record.pid) ?? [];
          records.push(record);
          open.set(record.pid, records);
        }
        for (const [pid, records] of open) piles.get(pid)?.recoverOpenSessions(records);
      }
      publish(topics.gatewayStatus(config.gid), gatewayStatus(true), { retain: true });
      for (const pile of piles.values()) {
        pile.setOnline(true);
        pile.publishStatus();
      }
      logger.info({ piles: piles.size }, 'serving piles');
      flushLog();
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
  let ocpp: OcppEndpoint | undefined;
  if (config.ocpp) {
    try {
      ocpp = await startOcppEndpoint({ config: config.ocpp, baseDir: loaded.baseDir, stations, logger });
    } catch (error) {
      closed = true;
      clearInterval(tick);
      client.end(true);
      await http.close();
      store.closeDatabase();
      throw new Error(`cannot serve OCPP on port ${config.ocpp.port}: ${(error as Error).message}`);
    }
  }
  logger.info({ httpPort: http.port, ocppPort: ocpp?.port, piles: piles.size }, 'gateway started');
  flushLog();

  return {
    gid: config.gid,
    httpPort: http.port,
    ...(ocpp ? { ocppPort: ocpp.port } : {}),
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
      await closeMqtt(client);
      await ocpp?.close();
      await http.close();
      store.closeDatabase();
      logger.info('gateway stopped');
      flushLog();
      log?.close();
    },
  };
}
