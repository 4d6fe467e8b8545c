/**
 * Builds the gateway's operator page (pile-gateway/operator/index.html) into pile-gateway/operator/dist, the
 * production build whatever NODE_ENV says (vite.production.ts): `npm run build:operator`. The gateway serves
 * it under /operator/ (pile-gateway/operator-page.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { production } from './vite.production.js';

export default defineConfig({
  ...production,
  root: fileURLToPath(new URL('./pile-gateway/operator', import.meta.url)),
});
