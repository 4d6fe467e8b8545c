import { expect, test } from '@playwright/test';
import { connector, control, openAs, openPile } from './support/app.js';

test('a meter reading that fails verification is shown as rejected and never counted', async ({ page }) => {
  await openAs(page, 'EV-ANNA');
  await openPile(page, 'Old Town Garage P6');
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  await page.getByRole('button', { name: 'Start charging' }).click();
  await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
  const sid = await page.locator('charging-view [data-sid]').getAttribute('data-sid');
  expect(sid).toBeTruthy();

  // Someone with a gateway login publishes a reading of 999.999 kWh for this session, without the session key.
  await control(`/forge-meter?vid=EV-ANNA&sid=${encodeURIComponent(sid ?? '')}`);
  const rejected = page.locator('charging-view [data-rejected]');
  await expect(rejected).toHaveAttribute('data-rejected', '1');
  await expect(rejected).toContainText('Reading rejected (BAD_MAC) — not counted');
  const energy = Number.parseFloat((await page.locator('[data-figure="energy"]').textContent()) ?? '');
  expect(energy).toBeLessThan(10);

  // Genuine readings keep coming and counting.
  const seq = Number(await page.locator('charging-view [data-verified]').getAttribute('data-seq'));
  await expect
    .poll(async () => Number(await page.locator('charging-view [data-verified]').getAttribute('data-seq')))
    .toBeGreaterThan(seq);
  await page.getByRole('button', { name: 'Stop charging' }).click();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
  const receiptKwh = Number.parseFloat((await page.locator('[data-receipt="energy"]').textContent()) ?? '');
  expect(receiptKwh).toBeLessThan(10);
});
