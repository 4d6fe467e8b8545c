/**
 * Builds the operator page (pile-gateway/operator/) with vite.operator.config.ts into OPERATOR_PAGE_DIR: run by
 * `npm run build:operator`, `npm run build:services`, `npm start` and the end-to-end tests before they start a
 * gateway. The gateway itself never builds (it runs with plain node on a site box); it serves what is built.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWithVite, newestSourceMtime } from '../node/vite-build.js';
import { OPERATOR_PAGE_DIR } from './operator-page.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OPERATOR_VITE_CONFIG = join(ROOT, 'vite.operator.config.ts');

export function buildOperatorPage(distDir = OPERATOR_PAGE_DIR): Promise<void> {
  return buildWithVite(OPERATOR_VITE_CONFIG, distDir);
}

let building: Promise<void> | undefined;

/** Builds the page when it is not built or its sources (the page, shared/, the Vite configs) are newer. */
export async function ensureOperatorPageBuilt(): Promise<void> {
  const built = await stat(join(OPERATOR_PAGE_DIR, 'index.html')).catch(() => undefined);
  const sources = () =>
    newestSourceMtime(
      [join(ROOT, 'pile-gateway', 'operator'), join(ROOT, 'shared')],
      [OPERATOR_VITE_CONFIG, join(ROOT, 'vite.production.ts')],
    );
  if (built && built.mtimeMs >= (await sources())) return;
  building ??= buildOperatorPage().finally(() => {
    building = undefined;
  });
  await building;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildOperatorPage();
  console.log(`operator page → ${OPERATOR_PAGE_DIR}`);
}
