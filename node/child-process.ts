/**
 * One harness for the processes the system is made of, as the tests, the benchmarks and `npm start` run them: a
 * child process whose output is kept (bounded) and whose pino JSON lines are parsed, started until a readiness
 * condition holds, stopped with a signal (SIGKILL after a grace period) and timed. Plus port helpers for children
 * that bind a port a moment after we pick it.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is <root>/node/child-process.ts). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The tsx CLI, for one-shot TypeScript commands (the admin CLI, the vehicle CLI). */
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** One pino line: level 30 info, 40 warn, 50 error; the rest are the logged fields. */
export type LogLine = { level: number; msg?: string; name?: string } & Record<string, unknown>;

export interface ChildServiceOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** drop every EVAUTH_* variable of this process's environment first (a test's child starts clean) */
  cleanEvauthEnv?: boolean;
  /** run as this user and group (root only): a service that must not read what its user cannot */
  uid?: number;
  gid?: number;
}

export interface NodeServiceOptions extends ChildServiceOptions {
  /** extra node flags, e.g. --cpu-prof */
  nodeArgs?: string[];
  /** the service's built file (`npm run build:services`), run with plain node instead of its source under tsx */
  builtFile?: string;
}

const OUTPUT_LIMIT = 200_000;

/** A long-running child process with its output kept for readiness checks and diagnostics. */
export class ChildService {
  private child?: ChildProcess;
  private exit?: Promise<number | null>;
  private partialLine = '';
  /** stdout and stderr as they came (the last ~100-200 kB) */
  output = '';
  /** pino JSON lines seen on stdout so far */
  readonly logs: LogLine[] = [];
  /** stdout lines that were not JSON (a service that logs with pino should print none) */
  readonly otherStdout: string[] = [];
  /** stderr as it came (the last ~100-200 kB) */
  stderr = '';
  startedAtMs = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly options: ChildServiceOptions = {},
  ) {}

  /**
   * A TypeScript entry point of the repository, run by node itself with the tsx loader (not the tsx CLI, which
   * runs node as a grandchild: a signal must reach the service, not a wrapper), or its built file.
   */
  static node(name: string, entry: string, args: readonly string[], options: NodeServiceOptions = {}) {
    const program = options.builtFile ? [options.builtFile] : ['--import', 'tsx', path.join(ROOT, entry)];
    return new ChildService(
      name,
      process.execPath,
      [...(options.nodeArgs ?? []), ...program, ...args],
      options,
    );
  }

  /** The child's process id (the service itself, never a wrapper); it must have been started. */
  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.name} was not started`);
    return pid;
  }

  /** Started and not yet exited. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Started and since exited. */
  get exited(): boolean {
    return this.child !== undefined && !this.running;
  }

  get exitCode(): number | null | undefined {
    return this.child?.exitCode;
  }

  /** Starts it; resolves with the start-up time in ms once `ready` holds for the output so far. */
  async start(ready: (output: string) => boolean = () => true, timeoutMs = 30_000): Promise<number> {
    this.output = '';
    this.logs.length = 0;
    this.otherStdout.length = 0;
    this.stderr = '';
    this.partialLine = '';
    this.startedAtMs = performance.now();
    const env = { ...process.env };
    if (this.options.cleanEvauthEnv)
      for (const key of Object.keys(env)) if (key.startsWith('EVAUTH_')) delete env[key];
    const spawnOptions: SpawnOptions = {
      cwd: this.options.cwd ?? ROOT,
      env: { ...env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.options.uid !== undefined ? { uid: this.options.uid } : {}),
      ...(this.options.gid !== undefined ? { gid: this.options.gid } : {}),
    };
    const child = spawn(this.command, this.args, spawnOptions);
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('error', (error) => this.append(`spawn failed: ${error.message}\n`, false));
    child.stdout?.on('data', (chunk: Buffer) => this.append(chunk.toString(), true));
    child.stderr?.on('data', (chunk: Buffer) => this.append(chunk.toString(), false));
    const deadline = Date.now() + timeoutMs;
    while (!ready(this.output)) {
      if (!this.running) throw new Error(`${this.name} exited during start-up:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.slice(-3000)}`);
      await sleep(10);
    }
    return performance.now() - this.startedAtMs;
  }

  private append(text: string, stdout: boolean): void {
    this.output = bounded(this.output + text);
    if (!stdout) {
      this.stderr = bounded(this.stderr + text);
      return;
    }
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.otherStdout.push(line);
      }
    }
    if (this.logs.length > 20_000) this.logs.splice(0, 10_000);
    if (this.otherStdout.length > 1_000) this.otherStdout.splice(0, 500);
  }

  /** Resolves with the first log line `match` accepts (looking at those already seen too). */
  async waitForLog(
    match: (line: LogLine) => boolean,
    timeoutMs = 10_000,
    what = 'log line',
  ): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logs.find(match);
      if (line) return line;
      if (Date.now() > deadline)
        throw new Error(`${this.name}: timed out waiting for ${what}:\n${this.output.slice(-2000)}`);
      await sleep(10);
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`); the exit code and how long it took. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    graceMs = 5000,
  ): Promise<{ code: number | null; ms: number }> {
    const child = this.child;
    if (!child || !this.running) return { code: child?.exitCode ?? null, ms: 0 };
    const started = performance.now();
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exit;
    clearTimeout(timer);
    return { code: code ?? null, ms: performance.now() - started };
  }

  /** Waits for the process to exit by itself; its exit code. */
  async waitForExit(): Promise<number | null> {
    return (await this.exit) ?? null;
  }
}

function bounded(text: string): string {
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT / 2) : text;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const handedOut = new Set<number>();

/**
 * A port nobody listens on, for a child process to bind a moment later. Taken at random from below Linux's
 * ephemeral range (32768+): a port the kernel chose for `listen(0)` is soon handed to the next `listen(0)` of a
 * test file running in parallel, which then takes it from under the child starting up. Never the same port twice
 * in one process.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('found no free port in 20000-31999');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Waits until something accepts connections on the port; `owner`, if given, must not exit meanwhile. */
export async function waitForPort(port: number, timeoutMs = 15_000, owner?: ChildService): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (owner?.exited) throw new Error(`${owner.name} exited before opening port ${port}:\n${owner.output}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms${owner ? `:\n${owner.output}` : ''}`);
}
