/**
 * WAL checkpoints off the event loop. With `synchronous = NORMAL` a checkpoint is where SQLite fsyncs (the WAL,
 * then the database); run inline, as SQLite's auto-checkpoint does inside a commit, each one held up every
 * handshake in flight by 1–7 ms, several times a second at 1,000 sessions/s. Here a worker thread with its own
 * connection checkpoints every `intervalMs`, PASSIVE so it never blocks the gateway's writes.
 *
 * One thing a checkpointer on another connection cannot do is rewind the WAL: SQLite starts the log over only
 * when a write begins while every frame is already copied back, which under constant writes never happens,
 * and the WAL would grow without bound. So when the worker reports a long WAL, the gateway's own connection
 * runs one PASSIVE checkpoint itself: only the frames since the worker's pass are left to copy, and its next
 * write rewinds the log.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

interface CheckpointReport {
  busy: number;
  log: number;
  checkpointed: number;
  error?: string;
}

// Plain CommonJS evaluated in the worker, so it runs the same from TypeScript source and from a bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true, timeout: 0 });
const timer = setInterval(() => {
  try {
    parentPort.postMessage(db.pragma('wal_checkpoint(PASSIVE)')[0]);
  } catch (error) {
    parentPort.postMessage({ busy: 1, log: 0, checkpointed: 0, error: String(error && error.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointerOptions {
  intervalMs?: number;
  /** WAL length (frames of one page) from which the writer's connection rewinds it; ~64 MiB by default */
  rewindAtFrames?: number;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  /** checkpoints the worker has run, rewinds done on the writer's connection, failed checkpoints */
  readonly stats = { checkpoints: 0, rewinds: 0, failures: 0 };

  constructor(
    private readonly db: Database.Database,
    file: string,
    options: WalCheckpointerOptions = {},
  ) {
    const rewindAt = options.rewindAtFrames ?? 16_384;
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file,
        intervalMs: options.intervalMs ?? 250,
      },
    });
    this.worker.unref();
    this.worker.on('message', (report: CheckpointReport) => {
      if (this.stopped) return;
      if (report.error) this.stats.failures++;
      else this.stats.checkpoints++;
      if (report.log >= rewindAt) this.rewind();
    });
    // A worker that cannot run (e.g. the driver fails to load there) hands checkpoints back to SQLite.
    this.worker.on('error', () => {
      this.stats.failures++;
      if (!this.stopped) db.pragma('wal_autocheckpoint = 1000');
    });
  }

  private rewind(): void {
    try {
      const [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as CheckpointReport[];
      if (result && result.busy === 0) this.stats.rewinds++;
    } catch {
      // busy: the next report tries again
    }
  }

  /** Stops the worker; its connection closes in the worker (the last connection to close checkpoints). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.worker.postMessage('stop');
  }
}
