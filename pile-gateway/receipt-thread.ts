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

/** After the thread failed: the wait before starting it again, doubling from the first to the last. */
const RESTART_DELAYS_MS = { first: 1_000, last: 60_000 };

export class ReceiptSigningThread {
  /** the worker up now and taking jobs; none while it is down or once closed */
  private worker?: Worker;
  private closed = false;
  /** the keys given so far, for a restarted worker */
  private readonly keys = new Map<number, Uint8Array>();
  private nextKeyId = 1;
  private nextJobId = 1;
  private readonly pending = new Map<number, (made: MadeReceipt | undefined) => void>();
  private outbox: { id: number; keyId: number; job: ReceiptJob }[] = [];
  private restartDelayMs = RESTART_DELAYS_MS.first;
  private restartTimer?: ReturnType<typeof setTimeout>;
  /** times the thread was started again after a failure */
  restarts = 0;

  constructor(private readonly log: Logger) {
    this.start();
  }

  private start(): void {
    let worker: Worker;
    try {
      worker = startWorker();
    } catch (error) {
      this.failed(error as Error);
      return;
    }
    this.worker = worker;
    // Jobs in flight are a session's own wait, not the process's: the broker connection keeps the gateway up.
    worker.unref();
    for (const [keyId, signingKey] of this.keys)
      worker.postMessage({ type: 'key', keyId, signingKey } satisfies ReceiptThreadRequest);
    worker.on('message', (reply: ReceiptThreadReply) => {
      this.restartDelayMs = RESTART_DELAYS_MS.first;
      for (const { id, made } of reply.made) {
        const resolve = this.pending.get(id);
        this.pending.delete(id);
        resolve?.(made);
      }
    });
    // An error is followed by exit: whichever comes first from this worker counts.
    worker.on('error', (error) => {
      if (this.worker === worker) this.failed(error);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.failed(new Error(`the receipt-signing thread exited (${code})`));
    });
  }

  /** Whether receipts are made on the thread now (not while it is down, nor once closed). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Gives the thread a pile's signing key; the number names it in that pile's jobs. */
  register(signingKey: Uint8Array): number {
    const keyId = this.nextKeyId++;
    this.keys.set(keyId, signingKey);
    this.worker?.postMessage({ type: 'key', keyId, signingKey } satisfies ReceiptThreadRequest);
    return keyId;
  }

  /** The receipt of a job, made on the thread; undefined where it cannot be (the caller then makes it). */
  make(keyId: number, job: ReceiptJob): Promise<MadeReceipt | undefined> {
    if (!this.worker) return Promise.resolve(undefined);
    const id = this.nextJobId++;
    this.outbox.push({ id, keyId, job });
    // The sessions that end within RECEIPT_BATCH_MS go over in one message (one wake-up of the thread).
    if (this.outbox.length === 1) setTimeout(() => this.send(), RECEIPT_BATCH_MS);
    return new Promise((resolve) => this.pending.set(id, resolve));
  }

  private send(): void {
    const jobs = this.outbox;
    this.outbox = [];
    if (jobs.length > 0) this.worker?.postMessage({ type: 'jobs', jobs } satisfies ReceiptThreadRequest);
  }

  /** The jobs still out are handed back to their callers. */
  private handBack(): void {
    this.worker = undefined;
    this.outbox = [];
    for (const resolve of this.pending.values()) resolve(undefined);
    this.pending.clear();
  }

  /** The worker failed: its jobs go back, receipts are made on the event loop until a new one is up. */
  private failed(error: Error): void {
    this.handBack();
    if (this.closed) return;
    this.log.error(
      { err: error, restartInMs: this.restartDelayMs },
      'the receipt-signing thread stopped; receipts are signed on the event loop until it is back',
    );
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.start();
    }, this.restartDelayMs);
    this.restartTimer.unref();
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, RESTART_DELAYS_MS.last);
  }

  /** Stops the thread; receipts still waiting for it are made by their callers. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const { worker } = this;
    this.handBack();
    await worker?.terminate();
  }
}
