/**
 * Child processes for the benchmarks: the broker, the gateway, the cloud and Mosquitto run as real processes.
 * Node services run as `node --import tsx <file>` (not through the tsx CLI), so the pid we sample and signal is
 * the service itself, not a wrapper.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// One implementation of port handling for the benchmarks and the integration suite.
export { freePort, waitForPort } from '../../tests/integration/processes.js';

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

  /** A Node service file under the repository, run with the tsx loader. */
  static node(name: string, file: string, args: string[], options: ServiceOptions = {}): Service {
    return new Service(
      name,
      process.execPath,
      [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(ROOT, file), ...args],
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
