import { expect, test } from '@playwright/test';
import { connector, control, openAs, openPile } from './support/app.js';

test('an expired credential is shown as such and never used; renewing with a wrong clock is refused', async ({
  page,
}) => {
  // The head unit's clock runs 8 days ahead: every credential it holds (7-day tickets) has expired for it.
  await page.clock.install({ time: Date.now() + 8 * 24 * 3600 * 1000 });
  await openAs(page, 'EV-ANNA');
  const card = page.getByRole('button', { name: 'Open Harbour Hub P1' });
  await expect(card.locator('credential-badge [data-credential]')).toHaveAttribute(
    'data-credential',
    'expired',
  );
  await openPile(page, 'Harbour Hub P1');
  await expect(page.getByRole('button', { name: 'Renew credential' })).toBeVisible();

  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  const failure = page.locator('auth-failure [role="alert"]');
  await expect(failure).toHaveAttribute('data-code', 'NO_CREDENTIAL');
  await expect(failure).toContainText('There is no credential for this charger.');
  await expect(failure).toContainText('STALE');
  await expect(failure.getByRole('button', { name: 'Renew credential' })).toBeVisible();
  await expect(page.locator('auth-stepper li[data-step="requested"]')).toHaveAttribute(
    'data-status',
    'pending',
  );
});

test('a revoked entitlement withdraws the credential live, and the cloud refuses a new one', async ({
  page,
}) => {
  await openAs(page, 'EV-CARLA');
  await openPile(page, 'Harbour Hub P1');
  const badge = page.locator('pile-detail credential-badge [data-credential]');
  await expect(badge).toHaveAttribute('data-credential', 'valid');

  expect(await control('/grants/revoke?vid=EV-CARLA&pid=P1')).toEqual({ revoked: 1 });
  await expect(badge).toHaveAttribute('data-credential', 'missing');

  await connector(page, 1).getByRole('button', { name: 'Charge here' }).click();
  const failure = page.locator('auth-failure [role="alert"]');
  await expect(failure).toHaveAttribute('data-code', 'NO_CREDENTIAL');
  await expect(failure).toContainText('NOT_ENTITLED');

  await page.getByRole('button', { name: 'Renew credential' }).first().click();
  await expect(
    page.getByRole('alert').filter({ hasText: 'The cloud refused a credential: NOT_ENTITLED' }),
  ).toBeVisible();
  await expect(badge).toHaveAttribute('data-credential', 'missing');
});
