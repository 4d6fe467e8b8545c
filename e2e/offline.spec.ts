import { expect, test } from '@playwright/test';
import { connector, control, openAs } from './support/app.js';

test('without its cloud, and after the broker lost every retained message, the head unit still authenticates from its IndexedDB credentials', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  await expect(
    page
      .getByRole('button', { name: 'Open Old Town Garage P5' })
      .locator('credential-badge [data-credential]'),
  ).toHaveAttribute('data-credential', 'valid');

  await control('/cloud/stop');
  try {
    // The in-memory broker comes back empty: no directory, no retained credentials, and no cloud to resend them.
    await control('/broker/restart?downMs=500');
    await page.reload();
    await expect(page.locator('connection-indicator [data-state]')).toHaveAttribute('data-state', 'online');
    // Only the gateway's live status names the pile now; the credential comes from IndexedDB.
    const card = page.getByRole('button', { name: 'Open P5' });
    await expect(card).toBeVisible();
    await expect(card.locator('credential-badge [data-credential]')).toHaveAttribute(
      'data-credential',
      'valid',
    );
    await card.click();
    await connector(page, 2).getByRole('button', { name: 'Charge here' }).click();
    await page.getByRole('button', { name: 'Start charging' }).click();
    await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
    await page.getByRole('button', { name: 'Stop charging' }).click();
    await expect(page.getByText('Receipt signature verified')).toBeVisible();
  } finally {
    await control('/cloud/start');
  }
  // With the cloud back the directory returns.
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: 'Chargers', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Open Old Town Garage P5' })).toBeVisible();
});
