import { expect, test } from '@playwright/test';
import { connector, control, keepScreenshot, openAs, openPile } from './support/app.js';

test('a pile that cannot prove it is genuine gets a clear warning, and no auth.response is ever sent to it', async ({
  page,
}) => {
  // Other tests meet the impostor too: only what reaches it from here on counts.
  const before = ((await control('/spy', 'GET')) as string[]).length;
  const spied = async () => ((await control('/spy', 'GET')) as string[]).slice(before);
  await openAs(page, 'EV-ANNA');
  await openPile(page, 'Roadside P9');
  await expect(page.locator('pile-detail credential-badge [data-credential]')).toHaveAttribute(
    'data-credential',
    'valid',
  );
  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();

  const alert = page.getByRole('alert').filter({ hasText: 'could not prove it is genuine' });
  await expect(alert).toBeVisible();
  await expect(alert).toHaveAttribute('data-code', 'PILE_NOT_AUTHENTIC');
  await expect(alert).toContainText('Charging will not start');
  await expect(alert.getByRole('button', { name: 'Choose another charger' })).toBeVisible();
  await expect(page.locator('auth-stepper li[data-step="requested"]')).toHaveAttribute('data-status', 'done');
  await expect(page.locator('auth-stepper li[data-step="verified"]')).toHaveAttribute(
    'data-status',
    'failed',
  );
  await expect(page.getByRole('dialog', { name: 'Offer from the charger' })).toHaveCount(0);
  await keepScreenshot(page, 'counterfeit-warning');

  // What reached the impostor: the request, then the vehicle's abort, and never a response.
  await expect.poll(spied).toEqual(['auth.request', 'auth.abort']);
  await page.waitForTimeout(1000);
  expect(await spied()).not.toContain('auth.response');

  await page.getByRole('button', { name: 'Charging', exact: true }).click();
  await expect(page.getByText('No charging session.')).toBeVisible();

  await page
    .getByRole('button', { name: 'Choose another charger' })
    .or(page.getByRole('button', { name: 'Chargers' }))
    .first()
    .click();
  await expect(page.getByRole('heading', { name: 'Chargers nearby' })).toBeVisible();
});
