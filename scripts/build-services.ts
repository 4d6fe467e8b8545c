/**
 * `npm run build:services`: the Node services (pile gateway, broker, cloud service) as single ES modules in
 * dist/services/, our TypeScript compiled by esbuild and the npm packages left to node_modules, and beside the
 * gateway its operator page (built by Vite, dist/services/operator/dist). An operator runs
 * these with plain `node` (see docs/gateway.md); so do the benchmarks. Running from source needs the tsx loader,
 * which keeps its own thread and ~34 MB more resident memory in every process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensureOperatorPageBuilt } from '../pile-gateway/operator-build.js';
import { OPERATOR_PAGE_DIR } from '../pile-gateway/operator-page.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES_DIR = path.join(ROOT, 'dist', 'services');

/** Source entry point → built file name. */
export const SERVICE_ENTRIES = {
  'pile-gateway/main.ts': 'pile-gateway.mjs',
  'broker/main.ts': 'broker.mjs',
  'cloud/main.ts': 'cloud.mjs',
} as const;

export type ServiceEntry = keyof typeof SERVICE_ENTRIES;

/** Worker threads a service starts from a module beside its own (pile-gateway/receipt-thread.ts). */
const WORKER_ENTRIES = {
  'pile-gateway/receipt-worker.ts': 'receipt-worker.mjs',
} as const;

/**
 * Node flags the services are meant to run with. `--single-threaded-gc`: on a small gateway box the broker and
 * the gateway share two cores, and V8's parallel GC helpers then wait for a core, stretching every young-
 * generation pause (measured: p99 at 1,000 sessions/s ~30% lower with it).
 */
export const SERVICE_NODE_FLAGS = ['--single-threaded-gc'];

/** Builds every service; returns the built file of each entry. */
export async function buildServices(): Promise<Map<ServiceEntry, string>> {
  const entries = Object.entries(SERVICE_ENTRIES) as [ServiceEntry, string][];
  await build({
    entryPoints: Object.fromEntries(
      [...entries, ...Object.entries(WORKER_ENTRIES)].map(([source, out]) => [
        out.replace(/\.mjs$/, ''),
        path.join(ROOT, source),
      ]),
    ),
    outdir: SERVICES_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  const built = new Map(entries.map(([source, out]) => [source, path.join(SERVICES_DIR, out)]));
  // The gateway serves its operator page from operator/dist beside its module (pile-gateway/operator-page.ts).
  await ensureOperatorPageBuilt();
  const page = path.join(SERVICES_DIR, 'operator', 'dist');
  fs.rmSync(page, { recursive: true, force: true });
  fs.cpSync(OPERATOR_PAGE_DIR, page, { recursive: true });
  // The sources' `#!/usr/bin/env -S npx tsx` would not suit the built file.
  for (const file of built.values()) {
    const text = fs.readFileSync(file, 'utf8');
    if (text.startsWith('#!')) fs.writeFileSync(file, `#!/usr/bin/env node${text.slice(text.indexOf('\n'))}`);
  }
  return built;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildServices();
  for (const [source, file] of built) console.log(`${source} → ${path.relative(ROOT, file)}`);
}
