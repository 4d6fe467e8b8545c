/**
 * Test support for the runnable entry points (broker/main.ts, cloud/main.ts): start one as a real child process
 * under tsx, read its pino JSON lines from stdout, stop it with a signal and time the exit. Not used in
 * production code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './test-support.js';

export const ROOT = join(import.meta.dirname, '..');

/** One pino line: level 30 info, 40 warn, 50 error; the rest are the logged fields. */
export type LogLine = { level: number; msg?: string; name?: string } & Record<string, unknown>;

export interface RunningProcess {
  child: ChildProcess;
  /** pino JSON lines seen on stdout so far */
  logs: LogLine[];
  /** stdout lines that were not JSON (should stay empty) */
  otherStdout: string[];
  stderr(): string;
  /** resolves with the first log line that `match` accepts */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** sends `signal` and resolves with the exit code and how long the exit took; kills after `timeoutMs` */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; ms: number }>;
}

/** Starts `node --import tsx <script> ...args` from the repository root with a clean EVAUTH_* environment. */
export function startProcess(script: string, args: string[]): RunningProcess {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('EVAUTH_')) delete env[key];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const otherStdout: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        otherStdout.push(line);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    child,
    logs,
    otherStdout,
    stderr: () => stderr,
    waitForLog: (match, timeoutMs = 10_000, what = 'log line') =>
      waitFor(() => logs.find(match), timeoutMs, `${what} (stderr: ${stderr.slice(-500)})`),
    stop: async (signal = 'SIGTERM', timeoutMs = 5000) => {
      if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, ms: 0 };
      const started = performance.now();
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return { code, ms: performance.now() - started };
    },
  };
}
