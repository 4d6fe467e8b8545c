/**
 * Starts the whole system in a child process (support/runner.ts) and hands its addresses to the tests through
 * EVAUTH_E2E; the returned function stops it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('./support/runner.ts', import.meta.url));

export default async function globalSetup(): Promise<() => Promise<void>> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const info = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('e2e system did not start within 90 s')), 90_000);
    child.once('exit', (code) => reject(new Error(`e2e system exited early with code ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"ready":true')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
  process.env.EVAUTH_E2E = info;
  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}
