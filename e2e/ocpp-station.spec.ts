import { expect, test } from '@playwright/test';
import { connector, openAs, openPile } from './support/app.js';

test('charging on an OCPP station: only the plugged-in connector, with the station’s own energy', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  await openPile(page, 'Depot P8');
  // Connector 1 has the car's cable in it, connector 2 none: the driver sees which is which.
  const plugged = connector(page, 1).locator('[data-plugged]');
  await expect(plugged).toHaveAttribute('data-plugged', 'true');
  await expect(plugged).toHaveText('Cable plugged in, ready');
  await expect(connector(page, 2).locator('[data-plugged]')).toHaveText('Plug in the cable first');
  await expect(plugged).toBeVisible();
  const box = await plugged.boundingBox();
  const row = await connector(page, 1).boundingBox();
  expect(box && row && box.y >= row.y && box.y + box.height <= row.y + row.height).toBe(true);

  // The neighbour's connector cannot be energised from here.
  await connector(page, 2).getByRole('button', { name: 'Charge here' }).click();
  const failure = page.locator('auth-failure [role="alert"]');
  await expect(failure).toHaveAttribute('data-code', 'CONNECTOR_BUSY');
  await failure.getByRole('button', { name: 'Dismiss' }).click();

  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  await page.getByRole('button', { name: 'Start charging' }).click();
  const verified = page.locator('charging-view [data-verified="true"]');
  await expect(verified).toBeVisible();
  await expect(page.locator('charging-view [data-rejected]')).toHaveCount(0);
  await page.getByRole('button', { name: 'Stop charging' }).click();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
});
