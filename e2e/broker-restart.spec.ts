import { expect, test } from '@playwright/test';
import { connector, control, openAs, openPile } from './support/app.js';

test('broker restart during charging: the indicator shows reconnecting, then verified meters resume', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  await openPile(page, 'Harbour Hub P3');
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  await page.getByRole('button', { name: 'Start charging' }).click();
  const verified = page.locator('charging-view [data-verified="true"]');
  await expect(verified).toBeVisible();
  const seqBefore = Number(await verified.getAttribute('data-seq'));

  const restarted = control('/broker/restart?downMs=2500');
  const indicator = page.locator('connection-indicator [data-state]');
  await expect(indicator).toHaveAttribute('data-state', 'reconnecting');
  await expect(page.getByRole('button', { name: 'Reconnect' })).toBeVisible();
  await restarted;
  await expect(indicator).toHaveAttribute('data-state', 'online', { timeout: 15_000 });

  await expect
    .poll(async () => Number(await verified.getAttribute('data-seq')), { timeout: 15_000 })
    .toBeGreaterThan(seqBefore + 1);
  await expect(page.locator('charging-view [data-rejected]')).toHaveCount(0);

  await page.getByRole('button', { name: 'Stop charging' }).click();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
});
