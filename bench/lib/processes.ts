/**
 * Child processes for the benchmarks: the broker, the gateway, the cloud and Mosquitto run as real processes.
 * Node services run as an operator runs them: built (`npm run build:services`) and started with plain `node`
 * and the services' flags. Before `useBuiltServices()` (or if asked for) they run from source as
 * `node --import tsx <file>`; either way the pid we sample and signal is the service itself, not a wrapper.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServices, SERVICE_NODE_FLAGS, type ServiceEntry } from '../../scripts/build-services.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// One implementation of port handling for the benchmarks and the integration suite.
export { freePort, waitForPort } from '../../tests/integration/processes.js';

let builtServices: Map<ServiceEntry, string> | undefined;

/** Builds the services once; from then on `Service.node` runs the built files. */
export async function useBuiltServices(): Promise<void> {
  builtServices ??= await buildServices();
}

export interface ServiceOptions {
  /** extra node flags, e.g. --cpu-prof */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A long-running child process whose output is kept (bounded) for readiness checks and diagnostics. */
export class Service {
  private child?: ChildProcess;
  private exited?: Promise<number | null>;
  output = '';
  startedAtMs = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly options: ServiceOptions = {},
  ) {}

  /** A Node service of the repository: its built file once built, else its source under the tsx loader. */
  static node(
    name: string,
    file: ServiceEntry | string,
    args: string[],
    options: ServiceOptions = {},
  ): Service {
    const built = builtServices?.get(file as ServiceEntry);
    const program = built ? [built] : ['--import', 'tsx', path.join(ROOT, file)];
    return new Service(
      name,
      process.execPath,
      [...SERVICE_NODE_FLAGS, ...(options.nodeArgs ?? []), ...program, ...args],
      options,
    );
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it; resolves (with the start-up time in ms) once `ready(output)` holds. */
  async start(ready: (output: string) => boolean, timeoutMs = 60_000): Promise<number> {
    this.output = '';
    this.startedAtMs = performance.now();
    const child = spawn(this.command, this.args, {
      cwd: this.options.cwd ?? ROOT,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const append = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const deadline = Date.now() + timeoutMs;
    while (!ready(this.output)) {
      if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.output.slice(-2000)}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - this.startedAtMs;
  }

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.child || !this.running) return;
    const child = this.child;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
