/**
 * The gateway process: the wiring of its units. One MQTT connection (gateway-connection.ts) serves many piles
 * (served-piles.ts: a PileRuntime each, messages routed by topic); on the first connection the sessions a
 * previous run left open are closed (recovery.ts); on every connection the retained statuses say online
 * (gateway-status.ts); a tick expires challenges; /healthz, /metrics, the operator actions and the operator page
 * are served over HTTP (http.ts), real stations over OCPP-J (ocpp/endpoint.ts); close() stops the units in order (shutdown.ts).
 */
import type { Logger } from 'pino';
import { nodeCryptoBackend, pooledSecureRandom } from '../node/crypto.js';
import { createBatchedLog, logLevel } from '../node/logger.js';
import { installCryptoBackend, type PileLimits, type RandomSource } from '../shared/index.js';
import type { ChargerController } from './charger.js';
import { loadGatewayConfig } from './config.js';
import { connectGateway } from './gateway-connection.js';
import { announcePresence } from './gateway-status.js';
import { startHttp } from './http.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { createStations, type OcppEndpoint, startOcppEndpoint } from './ocpp/endpoint.js';
import { cachedOperatorView } from './operator-view.js';
import type { PileRuntime } from './pile.js';
import { ReceiptSigningThread } from './receipt-thread.js';
import { Recovery } from './recovery.js';
import { pileSubscriptions, ServedPiles } from './served-piles.js';
import { type GatewayUnits, shutdownGateway } from './shutdown.js';
import { SessionStore } from './store.js';

export interface StartGatewayOptions {
  now?: () => number;
  random?: RandomSource;
  logger?: Logger;
  /** a real controller per connector; the simulator by default */
  chargerFactory?: (pid: string, connector: number) => ChargerController;
  /** overrides of the handshake limits (tests) */
  limits?: Partial<PileLimits>;
  /** where the built operator page is (operator-page.ts's OPERATOR_PAGE_DIR by default) */
  operatorPageDir?: string;
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
  const loaded = loadGatewayConfig(configPath);
  const { config } = loaded;
  const { gid } = config;
  const now = options.now ?? Date.now;
  // The gateway is a Node process on the hot path: HMAC and HKDF through OpenSSL, randomness drawn in pools.
  installCryptoBackend(nodeCryptoBackend);
  const random = options.random ?? pooledSecureRandom();
  // Two lines per session: gathered into few asynchronous writes (see node/logger.ts).
  const log = options.logger ? undefined : createBatchedLog('pile-gateway', logLevel());
  const logger = (options.logger ?? log!.logger).child({ gid });
  const flushLog = () => log?.flush();
  const metrics = createMetrics(gid);
  const store = new SessionStore(loaded.dataDir, { sync: config.sqliteSync });
  // Signed receipts (PROTOCOL §8a) are made on a thread of their own, off the handshakes' event loop.
  const receiptThread = [...loaded.keys.values()].some((k) => k.signingKey)
    ? new ReceiptSigningThread(logger)
    : undefined;

  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    resolveReady = resolve;
  });
  // Its callbacks run only once connected, asynchronously: the units they use are declared below.
  const connection = connectGateway({
    gid,
    mqtt: config.mqtt,
    subscriptions: pileSubscriptions(config.piles.map((p) => p.pid)),
    onMessage: (topic, payload, retained) => piles.route(topic, payload, retained),
    onSubscribed: () => {
      recovery.closeLeftOpen();
      announcePresence(units, true);
      logger.info({ piles: piles.size }, 'serving piles');
      flushLog();
      resolveReady();
    },
    logger,
    flushLog,
  });
  const { publish } = connection;
  // The chargers of OCPP piles are their stations' connectors; every other pile has the simulator.
  const stations = createStations(config, logger);
  const piles = new ServedPiles({
    loaded,
    stations,
    store,
    publish,
    now,
    random,
    metrics,
    logger,
    chargerFactory: options.chargerFactory,
    limits: options.limits,
    ...(receiptThread ? { receiptThread } : {}),
  });
  // Before the OCPP endpoint opens: a station that reconnects finds its transaction's session already back.
  const recovery = new Recovery({
    store,
    serves: (pid) => piles.serves(pid),
    resume: (record) => piles.resume(record),
    receipts: (pid) => piles.runtimes.get(pid)!.receipts,
    publish,
    now,
    metrics,
    logger,
  });
  const units: GatewayUnits = {
    gid,
    piles,
    connection,
    store,
    logger,
    ...(receiptThread ? { receiptThread } : {}),
    tick: setInterval(() => piles.tick(), 1000),
  };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= shutdownGateway(units).finally(() => {
      flushLog();
      log?.close();
    });
    return closing;
  };

  const maxW = new Map(config.piles.flatMap((p) => p.connectors.map((c) => [`${p.pid}/${c.id}`, c.maxW])));
  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    units.http = http = await startHttp(
      config.http?.host ?? '127.0.0.1',
      config.http?.port ?? 0,
      {
        registry: metrics.registry,
        health: () => ({
          ok: connection.connected,
          gid,
          mqtt: connection.connected ? 'connected' : 'disconnected',
          piles: piles.size,
          activeSessions: piles.activeSessionCount,
        }),
        charger: (pid, connector) => piles.runtimes.get(pid)?.chargers.get(connector),
        operatorView: cachedOperatorView({
          gid,
          connected: () => connection.connected,
          piles: piles.runtimes,
          maxW: (pid, id) => maxW.get(`${pid}/${id}`) ?? 0,
          store,
          now,
        }),
        ...(options.operatorPageDir ? { operatorPageDir: options.operatorPageDir } : {}),
      },
      { token: config.http?.token },
    );
  } catch (error) {
    // e.g. the HTTP port is taken: leave nothing running behind.
    await close();
    throw new Error(`cannot serve HTTP on port ${config.http?.port ?? 0}: ${(error as Error).message}`);
  }
  let ocpp: OcppEndpoint | undefined;
  if (config.ocpp) {
    try {
      units.ocpp = ocpp = await startOcppEndpoint({
        config: config.ocpp,
        baseDir: loaded.baseDir,
        stations,
        logger,
      });
    } catch (error) {
      await close();
      throw new Error(`cannot serve OCPP on port ${config.ocpp.port}: ${(error as Error).message}`);
    }
  }
  logger.info({ httpPort: http.port, ocppPort: ocpp?.port, piles: piles.size }, 'gateway started');
  flushLog();

  return {
    gid,
    httpPort: http.port,
    ...(ocpp ? { ocppPort: ocpp.port } : {}),
    metrics,
    piles: piles.runtimes,
    ready,
    close,
  };
}
