/**
 * Vite plugin: serves `virtual:evauth-cjk-font`, the app's Chinese font files (cjk-font.ts), made at every build
 * from the app's sources and emitted as hashed assets, never committed. Two sets:
 * - the label font: the CJK glyphs shown in every language (the 中文 button), bold only, about 1 KB;
 * - the Chinese fonts: every CJK glyph of the app, regular and bold, loaded only when 中文 is chosen.
 * Under `vite serve` the files are inlined as data URLs instead. Subsets are cached in Vite's cache folder by
 * their characters and the source font's package version, as subsetting takes about a second per file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plugin } from 'vite';
import {
  CJK_FONT_WEIGHTS,
  type CjkFontWeight,
  collectCjkCharacters,
  notoSansScVersion,
  subsetNotoSansSc,
  unicodeRangeOf,
} from './cjk-font.js';

const VIRTUAL_ID = 'virtual:evauth-cjk-font';
const RESOLVED_ID = `\0${VIRTUAL_ID}`;

/** CJK blocks: the Chinese fonts claim these; a character they lack still falls back to the next font. */
const CJK_BLOCKS = 'U+3000-303F, U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, U+FF00-FFEF';

interface FontFile {
  name: string;
  bytes: Buffer;
  weight: CjkFontWeight;
  unicodeRange: string;
}

/** subsetNotoSansSc through a file cache keyed by everything the subset depends on. */
async function cachedSubset(cacheDir: string, characters: string, weight: CjkFontWeight): Promise<Buffer> {
  const key = createHash('sha256').update(`${notoSansScVersion()}\n${weight}\n${characters}`).digest('hex');
  const file = join(cacheDir, `${key.slice(0, 32)}.woff2`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached) return cached;
  const bytes = await subsetNotoSansSc(characters, weight);
  await mkdir(cacheDir, { recursive: true });
  // Written aside and renamed, so a build running at the same time never reads half a file.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, bytes);
  await rename(partial, file);
  return bytes;
}

async function makeFontFiles(
  appRoot: string,
  cacheDir: string,
): Promise<{ label: FontFile; chinese: FontFile[] }> {
  const characters = await collectCjkCharacters(appRoot);
  const label: FontFile = {
    name: 'noto-sans-sc-label-700.woff2',
    bytes: await cachedSubset(cacheDir, characters.everyLocale, 700),
    weight: 700,
    unicodeRange: unicodeRangeOf(characters.everyLocale),
  };
  const chinese: FontFile[] = [];
  for (const weight of CJK_FONT_WEIGHTS) {
    chinese.push({
      name: `noto-sans-sc-zh-${weight}.woff2`,
      bytes: await cachedSubset(cacheDir, characters.all, weight),
      weight,
      unicodeRange: CJK_BLOCKS,
    });
  }
  return { label, chinese };
}

export function cjkFontPlugin(options: { root: string }): Plugin {
  let command: 'build' | 'serve' = 'build';
  let cacheDir = '';
  return {
    name: 'evauth-cjk-font',
    configResolved(config) {
      command = config.command;
      cacheDir = join(config.cacheDir, 'evauth-cjk-font');
    },
    resolveId(id) {
      return id === VIRTUAL_ID ? RESOLVED_ID : undefined;
    },
    load: {
      filter: { id: new RegExp(`^${RESOLVED_ID}$`) },
      async handler(id) {
        if (id !== RESOLVED_ID) return undefined;
        const { label, chinese } = await makeFontFiles(options.root, cacheDir);
        const fontFileExpression = (file: FontFile) => {
          const url =
            command === 'build'
              ? `import.meta.ROLLUP_FILE_URL_${this.emitFile({ type: 'asset', name: file.name, source: file.bytes })}`
              : JSON.stringify(`data:font/woff2;base64,${file.bytes.toString('base64')}`);
          return `{ url: ${url}, weight: ${JSON.stringify(String(file.weight))}, unicodeRange: ${JSON.stringify(file.unicodeRange)} }`;
        };
        return `export const labelFont = ${fontFileExpression(label)};\nexport const chineseFonts = [${chinese.map(fontFileExpression).join(', ')}];\n`;
      },
    },
  };
}
