import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import { connector, openAs } from './support/app.js';

/**
 * axe-core audits every screen (chargers, one charger, the offer, an error, charging, the receipt with its OCMF
 * export, history, settings, the counterfeit warning) in both languages on both display sizes, one journey each
 * through the running system. Serious and critical violations fail; the page's language must be the one chosen.
 */
async function audit(page: Page, screen: string, lang: string): Promise<string[]> {
  expect(await page.evaluate(() => document.documentElement.lang), `${screen}: html lang`).toBe(lang);
  const results = await new AxeBuilder({ page }).options({ resultTypes: ['violations'] }).analyze();
  // It looked inside the components' shadow roots: their text was checked for contrast.
  expect(results.passes.map((r) => r.id)).toContain('color-contrast');
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${screen}: [${v.impact}] ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`,
    );
}

for (const lang of ['en', 'zh-CN']) {
  for (const size of [
    { width: 1280, height: 720 },
    { width: 1920, height: 720 },
  ]) {
    test(`axe: every screen in ${lang} at ${size.width}x${size.height}`, async ({ page }) => {
      await page.setViewportSize(size);
      const found: string[] = [];
      const check = async (screen: string) => found.push(...(await audit(page, screen, lang)));
      await openAs(page, 'EV-ANNA');
      if (lang !== 'en') await page.locator('header [data-action="switch-language"]').click();
      await expect(page.locator('pile-list button[data-pid="P9"]')).toBeVisible();
      await check('chargers');
      await page.locator('pile-list button[data-pid="P2"]').click();
      await check('one charger');
      await connector(page, 2).locator('[data-action="authenticate"]').click();
      await expect(page.locator('offer-card section')).toBeVisible();
      await check('offer');
      await page.locator('offer-card button:not(.primary)').click();
      await expect(page.locator('auth-failure section')).toHaveAttribute('data-code', 'OFFER_DECLINED');
      await check('error');
      await page.locator('auth-failure [data-action="dismiss"]').click();
      await connector(page, 2).locator('[data-action="authenticate"]').click();
      await page.locator('offer-card button.primary').click();
      await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
      await check('charging');
      await page.locator('charging-view button.danger').click();
      await expect(page.locator('session-receipt section')).toBeVisible();
      await check('receipt');
      await page.locator('session-receipt button.primary').click();
      await expect(page.locator('session-history li').first()).toBeVisible();
      await check('history');
      await page.locator('nav button[data-view="settings"]').click();
      await check('settings');
      await page.locator('nav button[data-view="piles"]').click();
      await page.locator('pile-list button[data-pid="P9"]').click();
      await connector(page, 1).locator('[data-action="authenticate"]').click();
      await expect(page.locator('auth-failure section.counterfeit')).toBeVisible();
      await check('counterfeit warning');
      expect(found).toEqual([]);
    });
  }
}
