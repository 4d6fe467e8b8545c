/**
 * How every evauth service process runs (broker, cloud service, gateway): its command line with commander, ports
 * from flags or the environment checked before anything starts, a start that either serves or exits with a clear
 * message, and SIGINT/SIGTERM that close it and exit 0. Exit codes: 0 stopped on a signal, 2 the operator's
 * mistake (bad flag, bad environment, missing or bad data, refused configuration), 1 anything else. No stack
 * trace reaches the operator unless EVAUTH_DEBUG is set.
 */
import { Command, CommanderError, InvalidArgumentError, type OptionValues } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';

/** An error that is the operator's to fix: printed as `error: <message>`, exit code 2. */
export class ServiceUsageError extends Error {
  override readonly name = 'ServiceUsageError';
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** A port from the environment (or `fallback`), checked before commander runs: a bad value is a user error. */
export function envPort(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  try {
    return portNumber(text);
  } catch {
    throw new ServiceUsageError(`${name} must be a port number 0-65535, got ${JSON.stringify(text)}`);
  }
}

export interface RunningService {
  close(): Promise<void>;
}

export interface ServiceSpec<O extends OptionValues> {
  /** the command's name, also the logger's name (e.g. `evauth-broker`) */
  name: string;
  description: string;
  /** adds the service's arguments and options to its command */
  configure(program: Command): Command;
  /** starts serving; throws ServiceUsageError (or an error `isUsageError` accepts) for the operator's mistakes */
  start(options: O, args: string[], log: Logger): Promise<RunningService>;
  isUsageError?(error: unknown): boolean;
  /** the service's logger; default a synchronous pino logger named after the service */
  logger?: Logger;
}

function fail(error: unknown, usage: boolean): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.EVAUTH_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  process.exit(usage ? 2 : 1);
}

/** Parses the command line, starts the service and keeps it until a signal; never returns. */
export function runService<O extends OptionValues>(spec: ServiceSpec<O>): void {
  const isUsage = (error: unknown) =>
    error instanceof ServiceUsageError ||
    error instanceof InvalidArgumentError ||
    (spec.isUsageError?.(error) ?? false);
  let program: Command;
  try {
    program = spec.configure(new Command(spec.name).description(spec.description)).exitOverride();
  } catch (error) {
    // an option default read from the environment was refused
    fail(error, isUsage(error));
  }
  program.action(async (...received: unknown[]) => {
    const command = received[received.length - 1] as Command;
    const log = spec.logger ?? createLogger(spec.name);
    let service: RunningService;
    try {
      service = await spec.start(command.opts<O>(), command.args, log);
    } catch (error) {
      fail(error, isUsage(error));
    }
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      service.close().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'close failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  program.parseAsync().catch((error: unknown) => {
    // commander has printed its own message (or the help) already
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    fail(error, isUsage(error));
  });
}
