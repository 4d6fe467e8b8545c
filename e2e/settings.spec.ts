import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { connector, openPile, system } from './support/app.js';

test('Settings: pair by pasted provisioning code, reject a bad one, and auto-accept skips the offer', async ({
  page,
}) => {
  const code = Buffer.from(
    readFileSync(join(system().dataDir, 'provisioning', 'vehicles', 'EV-BEN.json'), 'utf8'),
  ).toString('base64url');

  await page.goto(system().headUnitUrl);
  const pairBox = page.getByRole('textbox', { name: 'Pair vehicle' });
  await pairBox.fill('{"v":1,"vid":"nobody"}');
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await expect(
    page.getByRole('status').filter({ hasText: 'This is not a valid provisioning code' }),
  ).toBeVisible();

  await pairBox.fill(code);
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await expect(page.locator('header .vehicle')).toHaveText('Vehicle EV-BEN');
  await expect(page.locator('connection-indicator [data-state]')).toHaveAttribute('data-state', 'online');

  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('checkbox', { name: 'Accept offers automatically' }).check();
  await page.getByRole('button', { name: 'Chargers', exact: true }).click();
  await openPile(page, 'Old Town Garage P4');
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  await expect(page.getByRole('heading', { name: 'Charging at Old Town Garage P4' })).toBeVisible();
  await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
  await page.getByRole('button', { name: 'Stop charging' }).click();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();

  // The pairing survives a reload.
  await page.reload();
  await expect(page.locator('header .vehicle')).toHaveText('Vehicle EV-BEN');
});
