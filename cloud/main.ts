/**
 * The runnable credential service: `tsx cloud/main.ts [--data DIR] [--mqtt-url URL] [--ticket-life SECONDS]`.
 * Environment: EVAUTH_DATA_DIR, EVAUTH_MQTT_PORT (for the default URL).
 */
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { nodeCryptoBackend } from '../node/crypto.js';
import { installCryptoBackend } from '../shared/crypto/backend.js';
import { startCloudService } from './service.js';

// This process is the cloud and nothing else: HMAC and HKDF through OpenSSL (same bytes as the default, faster).
// startCloudService leaves the backend alone, since a process embedding it owns that choice.
installCryptoBackend(nodeCryptoBackend);

const program = new Command('evauth-cloud-service')
  .description(
    'evauth credential service: issues, renews and withdraws credentials; publishes control and directory',
  )
  .option('--data <dir>', 'data folder', process.env.EVAUTH_DATA_DIR ?? '.evauth')
  .option('--mqtt-url <url>', 'broker URL', `mqtt://127.0.0.1:${process.env.EVAUTH_MQTT_PORT ?? '1883'}`)
  .option('--ticket-life <seconds>', 'ticket life', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 60) throw new InvalidArgumentError('must be an integer of at least 60');
    return n;
  })
  .action(async (opts) => {
    const logger = pino({ name: 'evauth-cloud' });
    const service = await startCloudService({
      dataDir: opts.data,
      mqttUrl: opts.mqttUrl,
      logger,
      ...(opts.ticketLife ? { ticketLifeSeconds: opts.ticketLife } : {}),
    });
    const stop = async (signal: string) => {
      logger.info({ signal }, 'stopping');
      await service.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
