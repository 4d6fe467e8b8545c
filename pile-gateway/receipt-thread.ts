/**
 * The gateway's receipt-signing thread: a worker (receipt-worker.ts) that makes each live session's session.end,
 * the OCMF record's payload, its ECDSA signature and the MACed body, so the event loop that serves handshakes
 * only stores and sends it. A thread of its own rather than node:crypto's callback in libuv's pool: with the pool
 * the event loop still built and MACed every signed receipt, and each signature woke it on its own (signing cost
 * the event loop ~110 µs a session, 11% of its throughput); here it costs none measurable, the jobs of a few
 * milliseconds go over as one message and the receipts made meanwhile come back as one.
 * Where the thread is not there (it did not start, it died, the gateway is closing) the gateway's own thread
 * makes the receipt, so a session always ends with one.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MadeReceipt, ReceiptJob } from './receipt-maker.js';

/**
 * How long the first job waits for others to go with it. At 400 sessions/s a batch holds ~4 jobs: the thread
 * wakes a quarter as often (measured: the gateway process's CPU per signed session ~7% lower than a job a
 * message); a receipt comes at most this much later.
 */
const RECEIPT_BATCH_MS = 10;

export type ReceiptThreadRequest =
  | { type: 'key'; keyId: number; signingKey: Uint8Array }
  | { type: 'jobs'; jobs: { id: number; keyId: number; job: ReceiptJob }[] };

/** A job's receipt, or none when the thread could not make it. */
export interface ReceiptThreadReply {
  made: { id: number; made?: MadeReceipt }[];
}

/** The worker: the built module beside the built gateway, or the TypeScript source under tsx's loader. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./receipt-worker.mjs', here));
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./receipt-worker.ts', here).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
}

export class ReceiptSigningThread {
  private readonly worker?: Worker;
  private alive = true;
  private nextKeyId = 1;
  private nextJobId = 1;
  private readonly pending = new Map<number, (made: MadeReceipt | undefined) => void>();
  private outbox: { id: number; keyId: number; job: ReceiptJob }[] = [];

  constructor(private readonly log: Logger) {
    try {
      this.worker = startWorker();
    } catch (error) {
      this.alive = false;
      log.error(
        { err: error },
        'the receipt-signing thread did not start; receipts are signed on the event loop',
      );
      return;
    }
    // Jobs in flight are a session's own wait, not the process's: the broker connection keeps the gateway up.
    this.worker.unref();
    this.worker.on('message', (reply: ReceiptThreadReply) => {
      for (const { id, made } of reply.made) {
        const resolve = this.pending.get(id);
        this.pending.delete(id);
        resolve?.(made);
      }
    });
    this.worker.on('error', (error) => this.stopped(error));
    this.worker.on('exit', (code) => this.stopped(new Error(`the receipt-signing thread exited (${code})`)));
  }

  /** Whether receipts are made on the thread (false once it failed or closed). */
  get running(): boolean {
    return this.alive;
  }

  /** Gives the thread a pile's signing key; the number names it in that pile's jobs. */
  register(signingKey: Uint8Array): number {
    const keyId = this.nextKeyId++;
    if (this.alive)
      this.worker?.postMessage({ type: 'key', keyId, signingKey } satisfies ReceiptThreadRequest);
    return keyId;
  }

  /** The receipt of a job, made on the thread; undefined where it cannot be (the caller then makes it). */
  make(keyId: number, job: ReceiptJob): Promise<MadeReceipt | undefined> {
    if (!this.alive || !this.worker) return Promise.resolve(undefined);
    const id = this.nextJobId++;
    this.outbox.push({ id, keyId, job });
    // The sessions that end within RECEIPT_BATCH_MS go over in one message (one wake-up of the thread).
    if (this.outbox.length === 1) setTimeout(() => this.send(), RECEIPT_BATCH_MS);
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  private send(): void {
    const jobs = this.outbox;
    this.outbox = [];
    if (jobs.length === 0 || !this.alive) return;
    this.worker?.postMessage({ type: 'jobs', jobs } satisfies ReceiptThreadRequest);
  }

  private stopped(error?: Error): void {
    if (!this.alive) return;
    this.alive = false;
    if (error)
      this.log.error(
        { err: error },
        'the receipt-signing thread stopped; receipts are signed on the event loop',
      );
    this.outbox = [];
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }

  /** Stops the thread; receipts still waiting for it are made by their callers. */
  async close(): Promise<void> {
    this.stopped();
    await this.worker?.terminate();
  }
}
