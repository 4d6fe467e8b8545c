import { expect, test } from '@playwright/test';
import { connector, keepScreenshot, openAs, openPile } from './support/app.js';

test('happy path: pile list → authenticate → confirm offer → verified charging → stop → signed receipt → history', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  const card = page.getByRole('button', { name: 'Open Harbour Hub P1' });
  await expect(card).toBeVisible();
  await expect(card.locator('[data-state]')).toHaveAttribute('data-state', 'available');
  await expect(card.locator('credential-badge [data-credential]')).toHaveAttribute(
    'data-credential',
    'valid',
  );
  await expect(page.getByRole('button', { name: 'Open Old Town Garage P4' })).toContainText('€0.45/kWh');
  await keepScreenshot(page, 'pile-list');

  await openPile(page, 'Harbour Hub P1');
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  const offer = page.getByRole('dialog', { name: 'Offer from the charger' });
  await expect(offer).toBeVisible();
  await expect(offer.locator('[data-offer="price"]')).toHaveText('€0.39/kWh');
  await expect(offer.locator('[data-offer="maxW"]')).toHaveText('150 kW');
  for (const step of ['credential', 'requested', 'verified', 'offered']) {
    await expect(page.locator(`auth-stepper li[data-step="${step}"]`)).toHaveAttribute('data-status', 'done');
  }
  await expect(page.locator('auth-stepper li[data-step="authorized"]')).toHaveAttribute(
    'data-status',
    'current',
  );
  await expect(page.locator('auth-stepper li[data-step="verified"] .time')).toHaveText(/^\+\d+ ms$/);
  await keepScreenshot(page, 'offer');

  await offer.getByRole('button', { name: 'Start charging' }).click();
  await expect(page.getByRole('heading', { name: 'Charging at Harbour Hub P1' })).toBeVisible();
  await expect(page.locator('charging-view [data-verified="true"]')).toContainText('Verified by the charger');
  // Energy only grows from signed readings: wait for a second verified reading with energy above zero.
  await expect
    .poll(async () => Number(await page.locator('charging-view [data-verified]').getAttribute('data-seq')))
    .toBeGreaterThanOrEqual(6);
  await expect(page.locator('[data-figure="energy"]')).not.toHaveText('0.00');
  await expect(page.locator('[data-figure="power"]')).not.toHaveText('0');
  await expect(page.locator('charging-view [data-rejected]')).toHaveCount(0);
  await keepScreenshot(page, 'charging');

  await page.getByRole('button', { name: 'Stop charging' }).click();
  const receipt = page.locator('session-receipt [data-receipt]').first();
  await expect(receipt).toBeVisible();
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
  await expect(page.locator('[data-receipt="reason"]')).not.toBeEmpty();
  const energy = (await page.locator('[data-receipt="energy"]').textContent()) ?? '';
  expect(Number.parseFloat(energy)).toBeGreaterThan(0);
  await expect(page.getByRole('button', { name: 'Stop charging' })).toHaveCount(0);
  await keepScreenshot(page, 'receipt');

  await page.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('heading', { name: 'Charging history' })).toBeVisible();
  const entry = page.locator('session-history li').first();
  await expect(entry).toContainText('Harbour Hub P1');
  await expect(entry.locator('[data-history="energy"]')).toHaveText(energy);
  await expect(entry.getByRole('img', { name: /Energy over time/ }).locator('path')).toHaveCount(2);
  await keepScreenshot(page, 'history');

  // The history lives in IndexedDB: it is still there after a reload.
  await page.reload();
  await page.getByRole('button', { name: 'History' }).click();
  await expect(page.locator('session-history li').first()).toContainText('Harbour Hub P1');
});

test('declining the offer starts nothing and says so', async ({ page }) => {
  await openAs(page, 'EV-BEN');
  await openPile(page, 'Harbour Hub P3');
  await connector(page, 2).getByRole('button', { name: 'Charge here' }).click();
  await page
    .getByRole('dialog', { name: 'Offer from the charger' })
    .getByRole('button', { name: 'Decline' })
    .click();
  const failure = page.locator('auth-failure [role="alert"]');
  await expect(failure).toHaveAttribute('data-code', 'OFFER_DECLINED');
  await expect(failure).toContainText('You declined the offer.');
  await expect(page.locator('auth-stepper li[data-step="authorized"]')).toHaveAttribute(
    'data-status',
    'failed',
  );
  await failure.getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.locator('auth-failure')).toHaveCount(0);
  await expect(connector(page, 2).locator('[data-state]')).toHaveAttribute('data-state', 'available');
});
