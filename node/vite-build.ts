/**
 * The production build of a Vite app (the head unit, the gateway's operator page) with its config file, whatever
 * NODE_ENV says (each config pins production: vite.production.ts), and whether its sources changed since. Node
 * only; Vite is loaded only when a build runs.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Builds into a fresh folder beside `distDir` and swaps it in with two renames, so another process serving (or
 * building) the app at the same time never sees a half-written folder.
 */
export async function buildWithVite(configFile: string, distDir: string): Promise<void> {
  const { build } = await import('vite');
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const fresh = `${distDir}.build-${suffix}`;
  const old = `${distDir}.old-${suffix}`;
  try {
    await build({ configFile, logLevel: 'warn', build: { outDir: fresh, emptyOutDir: true } });
    await rename(distDir, old).catch(() => undefined);
    await rename(fresh, distDir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process swapped in its build of the same sources between our two renames: keep that one.
      if (
        !['ENOTEMPTY', 'EEXIST'].includes(error.code ?? '') ||
        !(await stat(distDir).catch(() => undefined))
      )
        throw error;
    });
  } finally {
    await rm(fresh, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** Newest modification time (ms) of the .ts/.html/.css files under `dirs` (not dist) and of `files`. */
export async function newestSourceMtime(
  dirs: readonly string[],
  files: readonly string[] = [],
): Promise<number> {
  let newest = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('dist.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(ts|html|css)$/.test(entry.name)) newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  };
  for (const dir of dirs) await walk(dir);
  for (const file of files)
    newest = Math.max(newest, (await stat(file).catch(() => undefined))?.mtimeMs ?? 0);
  return newest;
}
