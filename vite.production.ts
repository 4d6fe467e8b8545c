/**
 * What every Vite build of ours shares (vite.config.ts: the head unit; vite.operator.config.ts: the gateway's
 * operator page): always the production build, whatever NODE_ENV says. Vite picks export conditions and
 * `process.env.NODE_ENV` from NODE_ENV, and vitest sets it to "test", which used to give Lit's development
 * build (its "Lit is in dev mode" warning and extra checks) to whatever was served from the same dist.
 */
import type { UserConfig } from 'vite';

export const production = {
  base: './',
  mode: 'production',
  define: {
    'process.env.NODE_ENV': JSON.stringify('production'),
    'import.meta.env.DEV': 'false',
    'import.meta.env.PROD': 'true',
    'import.meta.env.MODE': JSON.stringify('production'),
  },
  resolve: {
    // Vite's defaults with "production" in place of "development|production" (which follows NODE_ENV).
    conditions: ['module', 'browser', 'production'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    minify: true,
  },
  server: { host: '127.0.0.1' },
} satisfies UserConfig;
