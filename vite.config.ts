/**
 * Builds the head-unit app (head-unit/index.html) into head-unit/dist. The vehicle provisioning URL is fixed at
 * build time through EVAUTH_PROVISIONING_URL (PROTOCOL §11 file, fetched at start-up when no vehicle is paired).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./head-unit', import.meta.url));

export default defineConfig({
  root,
  base: './',
  define: {
    __EVAUTH_PROVISIONING_URL__: JSON.stringify(process.env.EVAUTH_PROVISIONING_URL ?? ''),
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { host: '127.0.0.1' },
});
