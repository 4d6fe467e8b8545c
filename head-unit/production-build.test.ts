/**
 * One production build for every way the app is served: server.ts (npm start, the end-to-end tests, the bench)
 * builds here under vitest's NODE_ENV=test, and must serve no Lit development code and the very files that
 * `vite build` (npm run build) makes. The Chinese font files come out of the same build.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cjkCharactersOf, coveredCharacters } from './build/cjk-font.js';
import { zh } from './i18n/zh.js';
import { initialScripts } from './measure-size.js';
import { buildApp, type HeadUnitServer, startHeadUnitServer } from './server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What Lit's development build has and its production build lacks. */
const LIT_DEV_MARKERS = ['Lit is in dev mode', 'litIssuedWarnings'];

describe('the head-unit build', () => {
  let dir: string;
  let served: string;
  let viaCli: string;
  let server: HeadUnitServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evauth-hu-build-'));
    served = join(dir, 'served');
    viaCli = join(dir, 'cli');
    await buildApp(served);
    // `npm run build` from a shell: no NODE_ENV at all.
    const env = { ...process.env };
    delete env.NODE_ENV;
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    await promisify(execFile)(
      process.execPath,
      [vite, 'build', '--outDir', viaCli, '--emptyOutDir', '--logLevel', 'warn'],
      { cwd: ROOT, env },
    );
    server = await startHeadUnitServer({ port: 0, dataDir: dir, distDir: served });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const assets = (dist: string) => readdirSync(join(dist, 'assets')).sort();

  it('is built under NODE_ENV=test here, and serves no Lit development code', async () => {
    expect(process.env.NODE_ENV).toBe('test');
    const index = await (await fetch(server.url)).text();
    expect(initialScripts(index).length).toBeGreaterThan(0);
    const scripts = assets(served).filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(1);
    for (const file of scripts) {
      const response = await fetch(new URL(`assets/${file}`, server.url));
      expect(response.status).toBe(200);
      const code = await response.text();
      for (const marker of LIT_DEV_MARKERS) expect(code, `${file} has "${marker}"`).not.toContain(marker);
    }
  });

  it('serves the same files as `vite build` (npm run build)', () => {
    expect(assets(served)).toEqual(assets(viaCli));
    for (const file of ['index.html', ...assets(served).map((f) => `assets/${f}`)]) {
      expect(readFileSync(join(served, file)).equals(readFileSync(join(viaCli, file))), file).toBe(true);
    }
  });

  it('emits the Chinese fonts as their own files, with every glyph of the zh catalogue', async () => {
    const fonts = assets(served).filter((f) => f.endsWith('.woff2'));
    const file = (prefix: string) => {
      const name = fonts.find((f) => f.startsWith(prefix));
      expect(name, `${prefix}*.woff2 in ${fonts.join(', ')}`).toBeDefined();
      return readFileSync(join(served, 'assets', name!));
    };
    const label = file('noto-sans-sc-label-700-');
    expect(await coveredCharacters(label, '中文')).toBe('中文');
    expect(label.length).toBeLessThan(4096);
    const catalogue = cjkCharactersOf(Object.values(zh).join(''));
    expect(catalogue.length).toBeGreaterThan(150);
    for (const weight of [400, 700]) {
      const font = file(`noto-sans-sc-zh-${weight}-`);
      expect(await coveredCharacters(font, catalogue)).toBe(catalogue);
      // A subset, not the whole font (about 1.1 MB per weight).
      expect(font.length).toBeLessThan(80 * 1024);
    }
    // Nothing loads them up front: index.html names no font.
    expect(readFileSync(join(served, 'index.html'), 'utf8')).not.toContain('.woff2');
  });
});
