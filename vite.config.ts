/**
 * Builds the head-unit app (head-unit/index.html) into head-unit/dist, the production build whatever NODE_ENV
 * says (vite.production.ts). The vehicle provisioning URL is fixed at build time through EVAUTH_PROVISIONING_URL
 * (PROTOCOL §11 file, fetched at start-up when no vehicle is paired).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { cjkFontPlugin } from './head-unit/build/cjk-font-plugin.js';
import { production } from './vite.production.js';

const root = fileURLToPath(new URL('./head-unit', import.meta.url));

export default defineConfig({
  ...production,
  root,
  define: {
    ...production.define,
    __EVAUTH_PROVISIONING_URL__: JSON.stringify(process.env.EVAUTH_PROVISIONING_URL ?? ''),
  },
  plugins: [cjkFontPlugin({ root })],
});
