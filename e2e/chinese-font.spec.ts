import { expect, test } from '@playwright/test';
import { openAs } from './support/app.js';
import { expectGlyphs } from './support/glyphs.js';

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
  await expect(switchLanguage.locator('[lang]')).toHaveText('中文');
  await expectGlyphs(page, switchLanguage.locator('[lang]'));
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
