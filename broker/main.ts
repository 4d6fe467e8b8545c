/**
 * A runnable broker process: `tsx broker/main.ts [--data DIR] [--mqtt-port N] [--ws-port N] [--host H]
 * [--tls-cert PATH --tls-key PATH]`, logins checked against the data folder's registry.
 * Environment: EVAUTH_DATA_DIR, EVAUTH_MQTT_PORT, EVAUTH_WS_PORT.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { openRegistry } from '../cloud/registry.js';
import { startBroker } from './server.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** A port from the environment, checked before commander runs: a bad value is a user error, not a crash. */
function envPort(name: string, fallback: string): number {
  try {
    return port(process.env[name] ?? fallback);
  } catch {
    console.error(`error: ${name} must be a port number 0-65535`);
    process.exit(2);
  }
}

const program = new Command('evauth-broker')
  .description('MQTT broker for evauth (aedes, TCP + WebSocket) with registry logins and PROTOCOL §9 rights')
  .option('--data <dir>', 'data folder with cloud.db', process.env.EVAUTH_DATA_DIR ?? '.evauth')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--mqtt-port <port>', 'MQTT TCP port', port, envPort('EVAUTH_MQTT_PORT', '1883'))
  .option(
    '--ws-port <port>',
    'MQTT over WebSocket port (path /mqtt)',
    port,
    envPort('EVAUTH_WS_PORT', '8083'),
  )
  .option('--tls-cert <path>', 'certificate (PEM) for TLS and WSS')
  .option('--tls-key <path>', 'private key (PEM) for TLS and WSS')
  .action(async (opts) => {
    const log = pino({ name: 'evauth-broker' });
    if (!existsSync(join(opts.data, 'cloud.db'))) {
      console.error(`error: no registry in ${opts.data}; run "evauth-cloud --data ${opts.data} init" first`);
      process.exit(2);
    }
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) {
      console.error('error: --tls-cert and --tls-key go together');
      process.exit(2);
    }
    const registry = openRegistry(opts.data);
    const broker = await startBroker({
      host: opts.host,
      mqttPort: opts.mqttPort,
      wsPort: opts.wsPort,
      authenticate: (username, password) => registry.authenticate(username, password),
      ...(opts.tlsCert ? { tls: { certPath: opts.tlsCert, keyPath: opts.tlsKey } } : {}),
      logger: log,
    });
    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping');
      await broker.close();
      registry.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
