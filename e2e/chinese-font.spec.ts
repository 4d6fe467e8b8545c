import { expect, type Locator, type Page, test } from '@playwright/test';
import { openAs } from './support/app.js';
import { drawnCharacters } from './support/glyphs.js';
import { glyphDifference } from './support/pixels.js';

/**
 * Each CJK character of `element` is drawn as a glyph: inked, unlike the box the system's fonts draw for it at
 * the same place, and unlike the other characters (boxes are all alike). First checks that the system's fonts
 * really draw boxes, which is what makes the test mean something.
 */
async function expectGlyphs(page: Page, element: Locator): Promise<void> {
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

test('中文 is drawn in real glyphs from the app’s own font, without any CJK font on the machine', async ({
  page,
}) => {
  const fonts: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.woff2')) fonts.push(path.slice(path.lastIndexOf('/') + 1));
  });
  await openAs(page, 'EV-BEN');

  // English: the 中文 button is drawn from the small label font, and the Chinese fonts are not fetched.
  const switchLanguage = page.locator('header [data-action="switch-language"]');
  await expect(switchLanguage).toHaveText('中文');
  await expectGlyphs(page, switchLanguage);
  expect(fonts.length).toBeGreaterThan(0);
  expect(fonts.every((f) => f.startsWith('noto-sans-sc-label-'))).toBe(true);

  await switchLanguage.click();
  const heading = page.getByRole('heading', { name: '附近的充电桩' });
  await expect(heading).toBeVisible();
  await expectGlyphs(page, heading);
  await expectGlyphs(page, page.locator('nav button[data-view="piles"]'));
  await expectGlyphs(page, page.locator('connection-indicator [data-state]'));
  expect(fonts.filter((f) => f.startsWith('noto-sans-sc-zh-')).length).toBe(2);

  // Chosen before: the font loads at start.
  await page.reload();
  await expectGlyphs(page, page.getByRole('heading', { name: '附近的充电桩' }));
  await page.getByRole('button', { name: '语言' }).click();
  await expect(page.getByRole('heading', { name: 'Chargers nearby' })).toBeVisible();
});
