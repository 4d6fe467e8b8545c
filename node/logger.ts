/**
 * Logging for every Node party: pino JSON lines on stdout (level from LOG_LEVEL, default info).
 *
 * `createBatchedLog` is for a process on the hot path (the gateway logs two info lines per session; written one by
 * one, each is a syscall plus a thread-pool hand-off, ~9% of the gateway's CPU at 1,000 sessions/s): info lines
 * are gathered into writes of at least 4 KiB, and what is gathered goes out within `flushEveryMs`; warnings and
 * errors, and whatever `flush()` is called after (start-up milestones), go out at once. pino flushes the rest at
 * exit.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The log level a service runs at: LOG_LEVEL, else `fallback`. */
export function logLevel(fallback = 'info'): string {
  return process.env.LOG_LEVEL || fallback;
}

/** A service's logger: JSON lines, written synchronously (the right choice for a process that logs little). */
export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
) {
  const settings = { name, level: options.level ?? logLevel() };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

export interface BatchedLog {
  logger: Logger;
  /** writes out what is gathered now */
  flush(): void;
  /** stops the flush timer (the exit hook still writes the rest) */
  close(): void;
}

const WARN = 40;

export function createBatchedLog(
  name: string,
  level: string,
  options: { flushEveryMs?: number; fd?: number } = {},
): BatchedLog {
  const destination = pino.destination({ dest: options.fd ?? 1, sync: false, minLength: 4096 });
  let gathered = false;
  // SonicBoom's flush does nothing while a write is in progress, and what is left below 4 KiB after that write
  // would wait for the next line: so a flush asked for meanwhile is done again when that write has drained.
  let flushDue = false;
  const flushDestination = () => {
    try {
      destination.flush();
    } catch {
      // destroyed at exit: pino's exit hook has written what it could
    }
  };
  destination.on('drain', () => {
    if (!flushDue) return;
    flushDue = false;
    flushDestination();
  });
  const flush = () => {
    if (!gathered) return;
    gathered = false;
    flushDue = true;
    flushDestination();
  };
  const logger = pino(
    {
      name,
      level,
      hooks: {
        logMethod(args, method, lineLevel) {
          method.apply(this, args);
          gathered = true;
          if (lineLevel >= WARN) flush();
        },
      },
    },
    destination,
  );
  const timer = setInterval(flush, options.flushEveryMs ?? 250);
  timer.unref();
  return { logger, flush, close: () => clearInterval(timer) };
}
