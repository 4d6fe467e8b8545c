import { expect, test } from '@playwright/test';
import { connector, openAs, openPile } from './support/app.js';

test('a connector in use by another vehicle: CONNECTOR_BUSY, explained, with the next step', async ({
  browser,
}) => {
  const anna = await (await browser.newContext()).newPage();
  const ben = await (await browser.newContext()).newPage();
  try {
    await openAs(anna, 'EV-ANNA');
    await openPile(anna, 'Harbour Hub P2');
    await connector(anna, 1).getByRole('button', { name: 'Charge here' }).click();
    await anna.getByRole('button', { name: 'Start charging' }).click();
    await expect(anna.locator('charging-view [data-verified="true"]')).toBeVisible();

    await openAs(ben, 'EV-BEN');
    await openPile(ben, 'Harbour Hub P2');
    await expect(connector(ben, 1).locator('[data-state]')).not.toHaveAttribute('data-state', 'available');
    await connector(ben, 1).getByRole('button', { name: 'Charge here' }).click();
    const failure = ben.locator('auth-failure [role="alert"]');
    await expect(failure).toHaveAttribute('data-code', 'CONNECTOR_BUSY');
    await expect(failure).toContainText('This connector is in use.');
    await expect(failure.getByRole('button', { name: 'Choose another charger' })).toBeVisible();
    await expect(ben.getByRole('dialog', { name: 'Offer from the charger' })).toHaveCount(0);

    // The other connector of the same pile is free: Ben charges there.
    await failure.getByRole('button', { name: 'Dismiss' }).click();
    await connector(ben, 2).getByRole('button', { name: 'Charge here' }).click();
    await ben.getByRole('button', { name: 'Start charging' }).click();
    await expect(ben.locator('charging-view [data-verified="true"]')).toBeVisible();

    for (const page of [anna, ben]) {
      await page.getByRole('button', { name: 'Stop charging' }).click();
      await expect(page.getByText('Receipt signature verified')).toBeVisible();
    }
  } finally {
    await anna.context().close();
    await ben.context().close();
  }
});
