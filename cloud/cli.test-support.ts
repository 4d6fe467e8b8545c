/** The admin CLI `evauth-cloud` run as a real process under tsx: exit code and output. For tests only. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../node/child-process.js';

export function runCloudCli(args: readonly string[], input?: string) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cloud', 'cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    env: { ...process.env, EVAUTH_DATA_DIR: '' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
