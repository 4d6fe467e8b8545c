/**
 * The head unit's own Chinese font, made at build time: head units (like Debian) often ship no CJK font, so the
 * 中文 interface would draw empty boxes. Collects every CJK character the app's sources hold (the zh catalogue,
 * and literals such as the 中文 button elsewhere), and subsets Noto Sans SC (from @fontsource/noto-sans-sc, OFL)
 * to exactly those glyphs, as WOFF2. Node only: the Vite plugin (cjk-font-plugin.ts) calls it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { Blob, Face } from 'harfbuzzjs';
import subsetFont from 'subset-font';

/** Han ideographs, CJK punctuation (。、「」) and full-width forms (，：（）): what Latin system fonts lack. */
const CJK_CHARACTER = /[\p{Script=Han}\u3000-\u303f\uff00-\uffef]/gu;

/** The weights the app draws: 400 for text, 700 for anything from 600 up (buttons, headings). */
export const CJK_FONT_WEIGHTS = [400, 700] as const;
export type CjkFontWeight = (typeof CJK_FONT_WEIGHTS)[number];

export interface CjkCharacters {
  /** every CJK character of the app, sorted: what the 中文 interface can show */
  all: string;
  /** those outside the zh catalogue (the 中文 button's label): what English mode shows */
  everyLocale: string;
}

/** Distinct CJK characters of `text`, in code point order. */
export function cjkCharactersOf(text: string): string {
  return [...new Set(text.match(CJK_CHARACTER) ?? [])].sort().join('');
}

/** A CSS unicode-range for the given characters, consecutive code points merged ("U+4E2D, U+6587-6588"). */
export function unicodeRangeOf(characters: string): string {
  const points = [...new Set([...characters].map((c) => c.codePointAt(0)!))].sort((a, b) => a - b);
  const ranges: string[] = [];
  const hex = (n: number) => n.toString(16).toUpperCase();
  for (let i = 0; i < points.length; ) {
    let j = i;
    while (j + 1 < points.length && points[j + 1] === points[j]! + 1) j++;
    ranges.push(i === j ? `U+${hex(points[i]!)}` : `U+${hex(points[i]!)}-${hex(points[j]!)}`);
    i = j + 1;
  }
  return ranges.join(', ');
}

/** The app's TypeScript sources under `appRoot`, without tests, build tooling and build output. */
async function appSources(appRoot: string): Promise<string[]> {
  const entries = await readdir(appRoot, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !/\.(test|d)\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((path) => !/^(dist|build|node_modules)$/.test(relative(appRoot, path).split(sep)[0]!))
    .sort();
}

/** Every CJK character in the app under `appRoot`; `catalogue` (relative) is the zh message catalogue. */
export async function collectCjkCharacters(
  appRoot: string,
  catalogue = 'i18n/zh.ts',
): Promise<CjkCharacters> {
  let all = '';
  let everyLocale = '';
  for (const path of await appSources(appRoot)) {
    const text = await readFile(path, 'utf8');
    all += text;
    if (relative(appRoot, path).split(sep).join('/') !== catalogue) everyLocale += text;
  }
  return { all: cjkCharactersOf(all), everyLocale: cjkCharactersOf(everyLocale) };
}

/** The code points an SFNT font maps to glyphs. */
function codePointsOf(sfnt: Uint8Array): Set<number> {
  return new Set(new Face(new Blob(sfnt)).collectUnicodes());
}

const require = createRequire(import.meta.url);

/** The version of the source font's package (a new one may draw differently). */
export function notoSansScVersion(): string {
  return (require('@fontsource/noto-sans-sc/package.json') as { version: string }).version;
}

/** The source font: Noto Sans SC's simplified-Chinese cut (about 7,000 characters) at one weight. */
function notoSansScFile(weight: CjkFontWeight): string {
  return require.resolve(
    `@fontsource/noto-sans-sc/files/noto-sans-sc-chinese-simplified-${weight}-normal.woff2`,
  );
}

/**
 * Noto Sans SC at `weight`, cut down to `characters`, as WOFF2. Fails, naming them, when the font lacks any of
 * the characters (they would draw as boxes).
 */
export async function subsetNotoSansSc(characters: string, weight: CjkFontWeight): Promise<Buffer> {
  const source = await readFile(notoSansScFile(weight));
  const sfnt = await subsetFont(source, characters, { targetFormat: 'sfnt' });
  const covered = codePointsOf(sfnt);
  const missing = [...characters].filter((c) => !covered.has(c.codePointAt(0)!));
  if (missing.length > 0) {
    throw new Error(`Noto Sans SC ${weight} has no glyph for: ${missing.join(' ')}`);
  }
  return subsetFont(sfnt, characters, { targetFormat: 'woff2' });
}

/** Which characters of `text` a WOFF2 or SFNT font maps to glyphs (for checks and tests). */
export async function coveredCharacters(font: Buffer, text: string): Promise<string> {
  const covered = codePointsOf(await subsetFont(font, text, { targetFormat: 'sfnt' }));
  return [...new Set(text)].filter((c) => covered.has(c.codePointAt(0)!)).join('');
}
