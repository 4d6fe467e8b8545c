/**
 * Builds the head-unit app (head-unit/index.html) into head-unit/dist. The vehicle provisioning URL is fixed at
 * build time through EVAUTH_PROVISIONING_URL (PROTOCOL §11 file, fetched at start-up when no vehicle is paired).
 *
 * Always the production build, whatever NODE_ENV says: Vite picks export conditions and `process.env.NODE_ENV`
 * from NODE_ENV, and vitest sets it to "test", which used to give Lit's development build (its "Lit is in dev
 * mode" warning and extra checks) to whatever `npm start` then served from the same head-unit/dist.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { cjkFontPlugin } from './head-unit/build/cjk-font-plugin.js';

const root = fileURLToPath(new URL('./head-unit', import.meta.url));

export default defineConfig({
  root,
  base: './',
  mode: 'production',
  define: {
    __EVAUTH_PROVISIONING_URL__: JSON.stringify(process.env.EVAUTH_PROVISIONING_URL ?? ''),
    'process.env.NODE_ENV': JSON.stringify('production'),
    'import.meta.env.DEV': 'false',
    'import.meta.env.PROD': 'true',
    'import.meta.env.MODE': JSON.stringify('production'),
  },
  resolve: {
    // Vite's defaults with "production" in place of "development|production" (which follows NODE_ENV).
    conditions: ['module', 'browser', 'production'],
  },
  plugins: [cjkFontPlugin({ root })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    minify: true,
  },
  server: { host: '127.0.0.1' },
});
