/** The parent side of the load generator: forks vehicle workers, runs open-loop steps, merges their results. */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  emptyStepResult,
  type FromWorker,
  type StepResult,
  type ToWorker,
  type WorkerConfig,
  type WorkerPile,
  type WorkerVehicle,
} from './messages.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

class WorkerHandle {
  private waiting?: { resolve: (m: FromWorker) => void; reject: (e: Error) => void };

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromWorker) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (m.type === 'error') w?.reject(new Error(`load worker: ${m.message}`));
      else w?.resolve(m);
    });
    child.once('exit', (code) => {
      this.waiting?.reject(new Error(`load worker exited with ${code}`));
      this.waiting = undefined;
    });
  }

  request(message: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(message);
    });
  }
}

export interface LoadOptions {
  mqttUrl: string;
  vehicles: WorkerVehicle[];
  piles: WorkerPile[];
  workers: number;
  stepTimeoutMs?: number;
  reconnectPeriodMs?: number;
}

/** Vehicles and piles are split across workers so no two workers compete for one connector. */
export class LoadDriver {
  private constructor(private readonly workers: WorkerHandle[]) {}

  static async start(options: LoadOptions): Promise<{ driver: LoadDriver; connectMs: number }> {
    const handles: WorkerHandle[] = [];
    for (let w = 0; w < options.workers; w++) {
      const child = fork(WORKER, [], {
        // As the services run (SERVICE_NODE_FLAGS): with every core busy, parallel GC helpers only wait for one.
        // A small young generation: at the default (16 MB) the generator's own scavenges took 8–9 ms on average
        // and up to ~22 ms, and a vehicle paused in GC counts as handshake latency; at 4 MB 2 ms, at most ~6 ms,
        // for the same total GC time.
        execArgv: ['--single-threaded-gc', '--max-semi-space-size=4', '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      handles.push(new WorkerHandle(child));
    }
    const driver = new LoadDriver(handles);
    const t0 = performance.now();
    try {
      await Promise.all(
        handles.map((h, w) => {
          const config: WorkerConfig = {
            mqttUrl: options.mqttUrl,
            vehicles: options.vehicles.filter((_, i) => i % options.workers === w),
            piles: options.piles.filter((_, i) => i % options.workers === w),
            stepTimeoutMs: options.stepTimeoutMs ?? 5000,
            reconnectPeriodMs: options.reconnectPeriodMs ?? 1000,
          };
          return h.request({ type: 'init', config });
        }),
      );
    } catch (error) {
      await driver.close();
      throw error;
    }
    return { driver, connectMs: Math.round(performance.now() - t0) };
  }

  /** Runs one open-loop step at `rate` handshakes/s in total and merges the workers' results. */
  async step(rate: number, durationMs: number, drainMs = 6000): Promise<StepResult> {
    const results = await Promise.all(
      this.workers.map(async (h) => {
        const m = await h.request({ type: 'step', rate: rate / this.workers.length, durationMs, drainMs });
        if (m.type !== 'stepDone') throw new Error(`unexpected worker message ${m.type}`);
        return m.result;
      }),
    );
    return mergeResults(results);
  }

  /** the worker processes' pids (their CPU is part of the machine's load) */
  get pids(): number[] {
    return this.workers.flatMap((h) => (h.child.pid === undefined ? [] : [h.child.pid]));
  }

  /** `count` handshakes one at a time from the first worker (nothing else in flight anywhere). */
  async serial(count: number): Promise<StepResult> {
    const m = await this.workers[0]!.request({ type: 'serial', count });
    if (m.type !== 'stepDone') throw new Error(`unexpected worker message ${m.type}`);
    return m.result;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (h) =>
          new Promise<void>((resolve) => {
            if (h.child.exitCode !== null) return resolve();
            const timer = setTimeout(() => h.child.kill('SIGKILL'), 5000);
            h.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            h.child.send({ type: 'exit' } satisfies ToWorker);
          }),
      ),
    );
  }
}

export function mergeResults(results: StepResult[]): StepResult {
  const merged = emptyStepResult();
  for (const r of results) {
    merged.offered += r.offered;
    merged.started += r.started;
    merged.authorised += r.authorised;
    merged.lost += r.lost;
    merged.receiptsMissing += r.receiptsMissing;
    merged.skipped += r.skipped;
    merged.schedulerLagMaxMs = Math.max(merged.schedulerLagMaxMs, r.schedulerLagMaxMs);
    for (const [code, n] of Object.entries(r.errors)) merged.errors[code] = (merged.errors[code] ?? 0) + n;
    for (const x of r.latenciesMs) merged.latenciesMs.push(x);
  }
  return merged;
}
