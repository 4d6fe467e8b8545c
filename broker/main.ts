/**
 * A runnable broker process: `tsx broker/main.ts [--data DIR | --logins FILE] [--mqtt-port N] [--ws-port N]
 * [--host H] [--tls-cert PATH --tls-key PATH] [--redis-url URL]`. Logins come from the registry's read-only login
 * view (`<data>/cloud.db`, opened read-only; the master key is never read). With a Redis URL the process is a node
 * of a cluster sharing that Redis (broker/cluster.ts, docs/deploy.md). With a PostgreSQL URL the login view is
 * read from the registry there (broker/pg-login-view.ts). Environment: EVAUTH_DATA_DIR, EVAUTH_MQTT_PORT,
 * EVAUTH_WS_PORT, EVAUTH_REDIS_URL, EVAUTH_DATABASE_URL.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { envPort, portNumber, runService, ServiceUsageError } from '../node/service-runner.js';
import { LoginView } from './login-view.js';
import { startBroker } from './server.js';
import { DEFAULT_SESSION_LIMITS } from './session-policy.js';

interface BrokerFlags {
  data: string;
  logins?: string;
  databaseUrl?: string;
  host: string;
  mqttPort: number;
  wsPort: number;
  tlsCert?: string;
  tlsKey?: string;
  authPublishRate: number;
  authPublishBurst: number;
  sessionsPerVehicle: number;
  redisUrl?: string;
  clusterHeartbeatMs: number;
  maxConnections: number;
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

const redisUrl = (value: string) => {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new InvalidArgumentError('must be a redis:// or rediss:// URL');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:')
    throw new InvalidArgumentError('must be a redis:// or rediss:// URL');
  return value;
};

/** EVAUTH_REDIS_URL, checked before commander runs: a bad value is the operator's to fix. */
function envRedisUrl(): string | undefined {
  const text = process.env.EVAUTH_REDIS_URL;
  if (text === undefined || text === '') return undefined;
  try {
    return redisUrl(text);
  } catch {
    throw new ServiceUsageError('EVAUTH_REDIS_URL must be a redis:// or rediss:// URL');
  }
}

runService<BrokerFlags>({
  name: 'evauth-broker',
  description: 'MQTT broker for evauth (aedes, TCP + WebSocket) with registry logins and PROTOCOL §9 rights',
  configure: (program) =>
    program
      .option('--data <dir>', 'data folder with cloud.db', process.env.EVAUTH_DATA_DIR ?? '.evauth')
      .option('--logins <file>', 'the registry database holding the login view (default <data>/cloud.db)')
      .option(
        '--database-url <url>',
        'read the login view from the registry in PostgreSQL (postgres://…, a role of evauth_broker) instead',
        process.env.EVAUTH_DATABASE_URL,
      )
      .option('--host <host>', 'interface to listen on', '127.0.0.1')
      .option('--mqtt-port <port>', 'MQTT TCP port', portNumber, envPort('EVAUTH_MQTT_PORT', 1883))
      .option(
        '--ws-port <port>',
        'MQTT over WebSocket port (path /mqtt)',
        portNumber,
        envPort('EVAUTH_WS_PORT', 8083),
      )
      .option('--tls-cert <path>', 'certificate (PEM) for TLS and WSS')
      .option('--tls-key <path>', 'private key (PEM) for TLS and WSS')
      .option(
        '--auth-publish-rate <n>',
        "a vehicle connection's publishes to piles per second (over it, the connection is closed)",
        positive,
        DEFAULT_SESSION_LIMITS.authPublishesPerSecond,
      )
      .option(
        '--auth-publish-burst <n>',
        'the burst it may send at once',
        positive,
        DEFAULT_SESSION_LIMITS.authPublishBurst,
      )
      .option(
        '--sessions-per-vehicle <n>',
        'connections one vehicle login may hold at once',
        positive,
        DEFAULT_SESSION_LIMITS.sessionsPerLogin.vehicle,
      )
      .option(
        '--max-connections <n>',
        'open connections per listener (a cluster node holding many cars: see docs/deploy.md)',
        positive,
        10_000,
      )
      .option(
        '--redis-url <url>',
        'run as a node of the cluster sharing this Redis (retained messages, wills, routing between nodes)',
        redisUrl,
        envRedisUrl(),
      )
      .option(
        '--cluster-heartbeat-ms <ms>',
        'heartbeat between cluster nodes: a node silent for 3 of them is dead and the wills of its clients published',
        positive,
        5000,
      ),
  async start(opts, _args, log) {
    const loginsFile = opts.logins ?? join(opts.data, 'cloud.db');
    if (!opts.databaseUrl && !existsSync(loginsFile))
      throw new ServiceUsageError(
        `no registry in ${opts.data}; run "evauth-cloud --data ${opts.data} init" first`,
      );
    if (opts.databaseUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl))
      throw new ServiceUsageError('the database URL must start with postgres://');
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey))
      throw new ServiceUsageError('--tls-cert and --tls-key go together');
    // `pg` is loaded only for a registry in PostgreSQL (it slows every other start-up)
    const logins = opts.databaseUrl
      ? await (await import('./pg-login-view.js')).PostgresLoginView.open(opts.databaseUrl, log)
      : new LoginView(loginsFile);
    const broker = await startBroker({
      host: opts.host,
      maxConnections: opts.maxConnections,
      mqttPort: opts.mqttPort,
      wsPort: opts.wsPort,
      logins,
      sessionLimits: {
        authPublishesPerSecond: opts.authPublishRate,
        authPublishBurst: opts.authPublishBurst,
        sessionsPerLogin: { ...DEFAULT_SESSION_LIMITS.sessionsPerLogin, vehicle: opts.sessionsPerVehicle },
      },
      ...(opts.tlsCert && opts.tlsKey ? { tls: { certPath: opts.tlsCert, keyPath: opts.tlsKey } } : {}),
      ...(opts.redisUrl
        ? { cluster: { redisUrl: opts.redisUrl, heartbeatMs: opts.clusterHeartbeatMs } }
        : {}),
      logger: log,
    });
    return {
      async close() {
        await broker.close();
        await logins.close();
      },
    };
  },
});
