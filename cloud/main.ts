/**
 * The runnable credential service: `tsx cloud/main.ts [--data DIR] [--mqtt-url URL] [--ticket-life SECONDS]`.
 * [--database-url postgres://… --instance i/n] [--mosquitto-dynsec]
 * Environment: EVAUTH_DATA_DIR, EVAUTH_DATABASE_URL, EVAUTH_MQTT_PORT (for the default URL), EVAUTH_MOSQUITTO_DYNSEC=1
 * (as --mosquitto-dynsec).
 */
import { InvalidArgumentError } from 'commander';
import { nodeCryptoBackend } from '../node/crypto.js';
import { runService } from '../node/service-runner.js';
import { installCryptoBackend } from '../shared/crypto/backend.js';
import { parseBrokerUrls } from '../shared/mqtt-servers.js';
import { type InstanceShare, parseInstance } from './instances.js';
import { RegistryError } from './registry.js';
import { startCloudService } from './service.js';

// This process is the cloud and nothing else: HMAC and HKDF through OpenSSL (same bytes as the default, faster).
// startCloudService leaves the backend alone, since a process embedding it owns that choice.
installCryptoBackend(nodeCryptoBackend);

interface CloudFlags {
  data: string;
  databaseUrl?: string;
  instance?: InstanceShare;
  mqttUrl: string[];
  ticketLife?: number;
  mosquittoDynsec?: boolean;
}

runService<CloudFlags>({
  name: 'evauth-cloud',
  description:
    'evauth credential service: issues, renews and withdraws credentials; publishes control and directory',
  configure: (program) =>
    program
      .option('--data <dir>', 'data folder', process.env.EVAUTH_DATA_DIR ?? '.evauth')
      .option(
        '--database-url <url>',
        'keep the registry in PostgreSQL (postgres://…) instead of <data>/cloud.db',
        process.env.EVAUTH_DATABASE_URL,
      )
      .option(
        '--instance <i/n>',
        'this instance is number i of n sharing one PostgreSQL registry: it answers the credential.requests of its share of vehicles',
        parseInstance,
      )
      .option(
        '--mqtt-url <urls>',
        'broker URL, or the nodes of a cluster comma-separated in order of failover',
        parseBrokerUrls,
        [`mqtt://127.0.0.1:${process.env.EVAUTH_MQTT_PORT ?? '1883'}`],
      )
      .option(
        '--mosquitto-dynsec',
        "the broker is Mosquitto as export-mosquitto set it up: disable revoked vehicles' logins there at once",
        process.env.EVAUTH_MOSQUITTO_DYNSEC === '1',
      )
      .option('--ticket-life <seconds>', 'ticket life', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 60)
          throw new InvalidArgumentError('must be an integer of at least 60');
        return n;
      }),
  // a missing or uninitialised registry is the operator's to fix
  isUsageError: (error) => error instanceof RegistryError,
  start: (opts, _args, logger) =>
    startCloudService({
      dataDir: opts.data,
      ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
      ...(opts.instance ? { instance: opts.instance } : {}),
      mqttUrl: opts.mqttUrl,
      logger,
      ...(opts.ticketLife ? { ticketLifeSeconds: opts.ticketLife } : {}),
      ...(opts.mosquittoDynsec ? { mosquittoDynamicSecurity: true } : {}),
    }),
});
