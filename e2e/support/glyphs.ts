/**
 * Are Chinese characters drawn as glyphs? Without a font for them, Chromium draws every one as the same empty
 * box ("tofu"), and the DOM text is right all the same. So each character the app draws is compared, in
 * pixels, with the same character drawn at the same place, size and weight in the system's fonts alone.
 */
import { expect, type Locator, type Page } from '@playwright/test';
import {
  type CharacterBox,
  characterBoxes,
  type GlyphImage,
  glyphDifference,
  glyphImage,
  viewportPixels,
} from './pixels.js';

export interface DrawnCharacters {
  /** the characters as the app draws them */
  app: GlyphImage[];
  /** the same characters at the same places in the system's fonts only (boxes, without CJK fonts) */
  systemFonts: GlyphImage[];
  /** the same again, each on whole pixels, so that equal drawings give equal pixels */
  systemFontsAligned: GlyphImage[];
}

const CJK = /[\p{Script=Han}\u3000-\u303f\uff00-\uffef]/u;

export async function drawnCharacters(page: Page, element: Locator): Promise<DrawnCharacters> {
  await element.first().waitFor();
  const boxes = (await characterBoxes(element)).filter((b) => CJK.test(b.char));
  if (boxes.length === 0) throw new Error('no CJK character in the element');
  const shot = await viewportPixels(page);
  const app = boxes.map((b) => glyphImage(shot, b));

  // An opaque layer over the page, with the same characters on it in the generic font only: at the app's places,
  // and in a row on whole pixels.
  await page.evaluate((chars: CharacterBox[]) => {
    const layer = document.createElement('div');
    layer.id = 'system-fonts-only';
    layer.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:#0f1318';
    const add = (c: CharacterBox, left: number, top: number, set: string) => {
      const span = document.createElement('span');
      span.textContent = c.char;
      span.dataset.set = set;
      span.style.cssText = `position:fixed;left:${left}px;top:${top}px;font-family:sans-serif;font-size:${c.fontSize};font-weight:${c.fontWeight};color:${c.color};line-height:normal;white-space:pre`;
      layer.append(span);
    };
    for (const c of chars) add(c, c.x, c.y, 'same-place');
    for (const [i, c] of chars.entries()) add(c, 8 + i * 64, 8, 'aligned');
    document.body.append(layer);
  }, boxes);
  try {
    const probe = (set: string) => page.locator(`#system-fonts-only [data-set="${set}"]`);
    const samePlace = await characterBoxes(probe('same-place'));
    const aligned = await characterBoxes(probe('aligned'));
    const probeShot = await viewportPixels(page);
    return {
      app,
      systemFonts: samePlace.map((b) => glyphImage(probeShot, b)),
      systemFontsAligned: aligned.map((b) => glyphImage(probeShot, b)),
    };
  } finally {
    await page.evaluate(() => document.getElementById('system-fonts-only')?.remove());
  }
}

/**
 * Each CJK character of `element` is drawn as a glyph: inked, unlike the box the system's fonts draw for it at
 * the same place, and unlike the other characters (boxes are all alike). First checks that the system's fonts
 * really draw boxes, which is what makes the test mean something.
 */
export async function expectGlyphs(page: Page, element: Locator): Promise<void> {
  await expect(element.first()).toBeVisible();
  await page.evaluate(() => document.fonts.ready);
  const { app, systemFonts, systemFontsAligned: aligned } = await drawnCharacters(page, element);
  for (const box of aligned.slice(1)) {
    expect(
      glyphDifference(aligned[0]!, box),
      `the system's fonts draw ${aligned[0]!.char} and ${box.char} differently: this test needs a machine without CJK fonts (fc-list :lang=zh)`,
    ).toBeLessThan(0.05);
  }
  for (const [i, glyph] of app.entries()) {
    expect(glyph.inked, `${glyph.char} is drawn at all`).toBeGreaterThan(20);
    expect(glyphDifference(glyph, systemFonts[i]!), `${glyph.char} is not the system's box`).toBeGreaterThan(
      0.3,
    );
    for (const other of app.slice(i + 1)) {
      if (other.char === glyph.char) continue;
      expect(glyphDifference(glyph, other), `${glyph.char} and ${other.char} differ`).toBeGreaterThan(0.15);
    }
  }
}
