/**
 * The gateway's log: pino JSON lines on stdout. A session logs two info lines; written one by one, each is a
 * syscall plus a thread-pool hand-off, ~9% of the gateway's CPU at 1,000 sessions/s. So info lines are gathered
 * into writes of at least 4 KiB, and what is gathered goes out within `flushEveryMs`; warnings and errors, and
 * whatever `flush()` is called after (start-up milestones), go out at once. pino flushes the rest at exit.
 */
import pino, { type Logger } from 'pino';

export interface GatewayLog {
  logger: Logger;
  /** writes out what is gathered now */
  flush(): void;
  /** stops the flush timer (the exit hook still writes the rest) */
  close(): void;
}

const WARN = 40;

export function createGatewayLog(
  level: string,
  options: { flushEveryMs?: number; fd?: number } = {},
): GatewayLog {
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
      name: 'pile-gateway',
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
