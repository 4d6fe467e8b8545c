/** Child processes of the integration suite (broker, gateway, CLI), each on loopback with free ports. */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

const handedOut = new Set<number>();

/**
 * A port nobody listens on, for a child process to bind a moment later. Taken at random from below Linux's
 * ephemeral range (32768+): a port the kernel chose for `listen(0)` is soon handed to the next `listen(0)` of
 * another test file in parallel, which then takes it from under the child starting up. Never the same port twice
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
export async function waitForPort(port: number, timeoutMs = 15_000, owner?: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (owner?.exited) throw new Error(`${owner.name} exited before opening port ${port}:\n${owner.output}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const output = owner ? `:\n${owner.output}` : '';
  throw new Error(`port ${port} did not open within ${timeoutMs} ms${output}`);
}

/** A long-running child process with its output kept for diagnostics. */
export class Service {
  private child?: ChildProcess;
  output = '';
  private exit?: Promise<void>;

  /** `args` run as a TypeScript entry point under node + tsx, unless `command` names another program. */
  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly command?: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether it was started and has since exited. */
  get exited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
  }

  /** Starts it; resolves when `ready(output)` is true. */
  async start(ready: (output: string) => boolean, timeoutMs = 20_000): Promise<void> {
    this.output = '';
    // node itself with the tsx loader (not the tsx CLI, which runs node as a grandchild): a SIGKILL must hit the
    // service, not a wrapper.
    const [program, argv] = this.command
      ? [this.command, this.args]
      : [process.execPath, ['--import', 'tsx', ...this.args]];
    const child = spawn(program, argv, {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const deadline = Date.now() + timeoutMs;
    while (!ready(this.output)) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited early:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready in ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops it with a signal and waits for the exit; returns the exit code (null if killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.exit;
    clearTimeout(timer);
    return child.exitCode;
  }
}
