/**
 * Builds the head-unit app and measures its JavaScript, gzip-compressed (level 9): the initial JavaScript is
 * what index.html loads (its module script and every modulepreload); the rest loads lazily. Also lists the
 * font files (WOFF2, already compressed): none loads up front; see head-unit/i18n/cjk-font.ts for when. Writes
 * bench/results/head-unit-size.json. The gateway's operator page (vite.operator.config.ts, built the same
 * production way) is measured the same way against a budget of its own (bench/results/operator-page-size.json).
 * Run alone with `tsx head-unit/measure-size.ts`, or from `npm run bench`.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildWithVite } from '../node/vite-build.js';
import { buildApp } from './server.js';

export const INITIAL_JS_BUDGET_BYTES = 120 * 1024;
/** The operator page: Lit and one screen of tables, for a technician's laptop. */
export const OPERATOR_PAGE_BUDGET_BYTES = 16 * 1024;

export interface HeadUnitSize {
  measuredAt: string;
  budgetGzipBytes: number;
  initialGzipBytes: number;
  lazyGzipBytes: number;
  totalGzipBytes: number;
  withinBudget: boolean;
  files: { file: string; initial: boolean; bytes: number; gzipBytes: number }[];
  fonts: { file: string; bytes: number }[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
/** Where the operator page is built: the gateway serves it from there (pile-gateway/operator-page.ts). */
const OPERATOR_DIST = join(ROOT, 'pile-gateway', 'operator', 'dist');

/** Script and modulepreload URLs in the built index.html, relative to dist. */
export function initialScripts(indexHtml: string): string[] {
  const urls = new Set<string>();
  for (const m of indexHtml.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) urls.add(m[1]!);
  for (const m of indexHtml.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g))
    urls.add(m[1]!);
  return [...urls].map((u) => u.replace(/^\.?\//, ''));
}

/** Measures a built app in `dist` against `budget` (initial JS, gzip). */
export function measureBuiltApp(dist: string, budget: number): HeadUnitSize {
  const initial = new Set(initialScripts(readFileSync(join(dist, 'index.html'), 'utf8')));
  const assets = readdirSync(join(dist, 'assets')).sort();
  const files = assets
    .filter((f) => f.endsWith('.js'))
    .map((name) => {
      const file = `assets/${name}`;
      const bytes = readFileSync(join(dist, file));
      return {
        file,
        initial: initial.has(file),
        bytes: bytes.length,
        gzipBytes: gzipSync(bytes, { level: 9 }).length,
      };
    });
  const sum = (list: typeof files) => list.reduce((n, f) => n + f.gzipBytes, 0);
  const initialGzipBytes = sum(files.filter((f) => f.initial));
  return {
    measuredAt: new Date().toISOString(),
    budgetGzipBytes: budget,
    initialGzipBytes,
    lazyGzipBytes: sum(files.filter((f) => !f.initial)),
    totalGzipBytes: sum(files),
    withinBudget: initialGzipBytes <= budget,
    files,
    fonts: assets
      .filter((f) => f.endsWith('.woff2'))
      .map((name) => ({ file: `assets/${name}`, bytes: statSync(join(dist, 'assets', name)).size })),
  };
}

function keep(result: HeadUnitSize, name: string): HeadUnitSize {
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', name), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

export async function measureHeadUnitSize(options: { build?: boolean } = {}): Promise<HeadUnitSize> {
  if (options.build !== false) await buildApp();
  return keep(measureBuiltApp(join(HERE, 'dist'), INITIAL_JS_BUDGET_BYTES), 'head-unit-size.json');
}

/** The operator page, built (into `distDir`, the gateway's own folder unless told) and measured. */
export async function measureOperatorPageSize(distDir = OPERATOR_DIST): Promise<HeadUnitSize> {
  await buildWithVite(join(ROOT, 'vite.operator.config.ts'), distDir);
  const size = measureBuiltApp(distDir, OPERATOR_PAGE_BUDGET_BYTES);
  // A build elsewhere (the size test's) is not the gateway's: no result file for it.
  return distDir === OPERATOR_DIST ? keep(size, 'operator-page-size.json') : size;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const r = await measureHeadUnitSize();
  console.log(
    `head-unit JS (gzip): initial ${kb(r.initialGzipBytes)} of ${kb(r.budgetGzipBytes)} budget, lazy ${kb(r.lazyGzipBytes)}, total ${kb(r.totalGzipBytes)}`,
  );
  for (const f of r.fonts) console.log(`  font ${f.file}: ${kb(f.bytes)}`);
  const o = await measureOperatorPageSize();
  console.log(`operator page JS (gzip): ${kb(o.initialGzipBytes)} of ${kb(o.budgetGzipBytes)} budget`);
  if (!r.withinBudget || !o.withinBudget) process.exitCode = 1;
}
