/**
 * The app's own Chinese font, so 中文 draws real glyphs on head units without any CJK font (build-time subsets
 * of Noto Sans SC, see head-unit/build/cjk-font.ts). English mode only registers the label font (the 中文
 * button's two glyphs), which the browser fetches when it draws them; the Chinese fonts load when the driver
 * chooses 中文, or at start when that was the saved choice.
 */
import { type CjkFontFile, chineseFonts, labelFont } from 'virtual:evauth-cjk-font';
import { CJK_FONT_FAMILY } from './font-family.js';
import type { Locale } from './locale.js';

function addFace(file: CjkFontFile): FontFace {
  const face = new FontFace(CJK_FONT_FAMILY, `url("${file.url}") format("woff2")`, {
    weight: file.weight,
    unicodeRange: file.unicodeRange,
    display: 'block',
  });
  document.fonts.add(face);
  return face;
}

let chinese: Promise<void> | undefined;

/** Adds the Chinese faces (once) and starts loading them; a failed load is retried on the next call. */
export function loadChineseFont(): Promise<void> {
  chinese ??= Promise.all(chineseFonts.map((file) => addFace(file).load())).then(
    () => undefined,
    (error: unknown) => {
      chinese = undefined;
      console.warn('the Chinese font did not load; 中文 may draw as boxes', error);
    },
  );
  return chinese;
}

/** Registers the label font now, and loads the Chinese fonts whenever the locale is (or becomes) zh. */
export function followLocaleWithChineseFont(locale: {
  locale: Locale;
  subscribe(listener: (locale: Locale) => void): unknown;
}): void {
  addFace(labelFont);
  const follow = (current: Locale) => {
    if (current === 'zh') void loadChineseFont();
  };
  follow(locale.locale);
  locale.subscribe(follow);
}
