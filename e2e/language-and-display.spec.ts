import { expect, type Page, test } from '@playwright/test';
import { keepScreenshot, openAs } from './support/app.js';

test('language switch to 中文 and back, at run time', async ({ page }) => {
  await openAs(page, 'EV-BEN');
  await expect(page.getByRole('heading', { name: 'Chargers nearby' })).toBeVisible();
  await page.getByRole('button', { name: 'Language' }).click();
  await expect(page.getByRole('heading', { name: '附近的充电桩' })).toBeVisible();
  await expect(page.getByRole('button', { name: '充电桩' })).toBeVisible();
  await expect(page.locator('connection-indicator [data-state]')).toHaveText('已连接');
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
  await keepScreenshot(page, 'pile-list-zh');

  // The choice survives a reload.
  await page.reload();
  await expect(page.getByRole('heading', { name: '附近的充电桩' })).toBeVisible();
  await page.getByRole('button', { name: '语言' }).click();
  await expect(page.getByRole('heading', { name: 'Chargers nearby' })).toBeVisible();
});

/** Every visible button's box, through shadow roots. */
async function buttonBoxes(page: Page) {
  return page.evaluate(() => {
    const boxes: { text: string; w: number; h: number }[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el.tagName === 'BUTTON') {
          const r = el.getBoundingClientRect();
          if (r.width > 0 && r.height > 0)
            boxes.push({ text: el.textContent?.trim() ?? '', w: r.width, h: r.height });
        }
      }
    };
    walk(document);
    return boxes;
  });
}

for (const size of [
  { width: 1920, height: 720 },
  { width: 1280, height: 720 },
]) {
  test(`usable at ${size.width}x${size.height}: no horizontal scroll, touch targets of at least 48 px`, async ({
    page,
  }) => {
    await page.setViewportSize(size);
    await openAs(page, 'EV-ANNA');
    await expect(page.getByRole('button', { name: 'Open Harbour Hub P1' })).toBeVisible();
    for (const view of ['Chargers', 'History', 'Settings']) {
      await page.getByRole('button', { name: view, exact: true }).click();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${view} overflows horizontally`).toBeLessThanOrEqual(0);
      for (const b of await buttonBoxes(page)) {
        expect(b.h, `button "${b.text}" height`).toBeGreaterThanOrEqual(48);
        expect(b.w, `button "${b.text}" width`).toBeGreaterThanOrEqual(48);
      }
    }
    await page.getByRole('button', { name: 'Chargers', exact: true }).click();
    await page.getByRole('button', { name: 'Open Harbour Hub P1' }).click();
    for (const b of await buttonBoxes(page)) expect(b.h, `button "${b.text}"`).toBeGreaterThanOrEqual(48);
    if (size.width === 1920) {
      await page.getByRole('button', { name: 'Chargers', exact: true }).click();
      await keepScreenshot(page, 'pile-list-1920');
    }
  });
}
