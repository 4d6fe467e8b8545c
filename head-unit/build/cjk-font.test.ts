import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cjkCharactersOf,
  collectCjkCharacters,
  coveredCharacters,
  subsetNotoSansSc,
  unicodeRangeOf,
} from './cjk-font.js';

describe('the CJK characters of the app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evauth-cjk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps Han, CJK punctuation and full-width forms, once each, in code point order', () => {
    expect(cjkCharactersOf('充电桩 A1（空闲）：充电。…—')).toBe('。充桩电空闲（）：');
  });

  it('merges consecutive code points into unicode ranges', () => {
    expect(unicodeRangeOf('文中')).toBe('U+4E2D, U+6587');
    expect(unicodeRangeOf('三一丁七')).toBe('U+4E00-4E01, U+4E03, U+4E09');
    expect(unicodeRangeOf('')).toBe('');
  });

  it('reads the sources, not tests or build output, and tells apart those outside the zh catalogue', async () => {
    mkdirSync(join(dir, 'i18n'));
    mkdirSync(join(dir, 'ui'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'i18n', 'zh.ts'), "export const zh = { a: '充电桩' };");
    writeFileSync(join(dir, 'i18n', 'en.ts'), "export const en = { lang: '中文' };");
    writeFileSync(join(dir, 'ui', 'view.ts'), 'html`<button>设置</button>`;');
    writeFileSync(join(dir, 'ui', 'view.test.ts'), "expect('测试');");
    writeFileSync(join(dir, 'dist', 'bundle.ts'), "'旧';");
    const found = await collectCjkCharacters(dir);
    expect(found.all).toBe(cjkCharactersOf('充电桩中文设置'));
    expect(found.everyLocale).toBe(cjkCharactersOf('中文设置'));
  });
});

describe('subsetNotoSansSc', () => {
  it('keeps exactly the glyphs asked for', async () => {
    const font = await subsetNotoSansSc('充电', 400);
    expect(await coveredCharacters(font, '充电桩中A')).toBe('充电');
    expect(font.subarray(0, 4).toString('latin1')).toBe('wOF2');
  });

  it('fails, naming the character, when the font has no glyph for it', async () => {
    await expect(subsetNotoSansSc('充\u{2000B}', 700)).rejects.toThrow(/no glyph for: \u{2000B}/u);
  });
});
