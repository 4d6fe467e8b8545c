/**
 * The gateway's operator page (issue #17) on the running system: with the token it draws the demo gateway's
 * piles, follows a charge a driver starts in the head unit with rising energy, and counts a refused request by
 * its code; without the token its API answers 401 and the page says so.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page, test } from '@playwright/test';
import mqtt from 'mqtt';
import { b64uEncode, clientIdPrefix, secureRandom, topics } from '../shared/index.js';
import { connector, keepScreenshot, openAs, openPile, system } from './support/app.js';

/** The number a cell shows, as a person reads it ("1,234" → 1234, "0.125 kWh" → 0.125). */
async function shownNumber(page: Page, selector: string): Promise<number> {
  const text = (await page.locator(selector).first().textContent()) ?? '';
  return Number(text.replace(/[^0-9.]/g, ''));
}

/** A malformed auth.request to pile `pid`, sent as demo vehicle EV-BEN could (refused at step 1: MALFORMED). */
async function sendMalformedRequest(pid: string): Promise<void> {
  const file = join(system().dataDir, 'provisioning', 'vehicles', 'EV-BEN.json');
  const { mqtt: login } = JSON.parse(readFileSync(file, 'utf8'));
  const client = await mqtt.connectAsync(system().mqttUrl, {
    clientId: `${clientIdPrefix({ kind: 'vehicle', vid: 'EV-BEN' })}${b64uEncode(secureRandom(6))}`,
    username: login.username,
    password: login.password,
    reconnectPeriod: 0,
  });
  try {
    await client.publishAsync(topics.pileAuth(pid), JSON.stringify({ v: 1, type: 'auth.request' }), {
      qos: 1,
    });
  } finally {
    await client.endAsync();
  }
}

test('without the token the API answers 401 and the page asks for it, saying why', async ({ page }) => {
  const api = new URL('api/view', system().operatorUrl);
  const bare = await fetch(api);
  expect(bare.status).toBe(401);
  expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);

  await page.goto(system().operatorUrl);
  await expect(page.getByRole('heading', { name: 'Operator token' })).toBeVisible();
  await expect(page.locator('operator-app article[data-pile]')).toHaveCount(0);
  await page.getByRole('textbox', { name: 'Token' }).fill('not-the-token-of-this-gateway-at-all');
  await page.getByRole('button', { name: 'Open' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('The gateway refused the token (401 Unauthorized).');
  await expect(page.getByRole('heading', { name: 'Operator token' })).toBeVisible();
  await expect(page.locator('operator-app article[data-pile]')).toHaveCount(0);
});

test('with the token: the piles drawn, a charge followed live, a refused request counted', async ({
  page,
  context,
}) => {
  const { operatorUrl, operatorToken } = system();
  await page.goto(`${operatorUrl}?token=${encodeURIComponent(operatorToken)}`);
  // The token leaves the address bar (kept for this tab only).
  await expect(page).toHaveURL(operatorUrl);
  await expect(page.getByRole('heading', { name: 'evauth gateway gw-demo' })).toBeVisible();
  for (const pid of ['P1', 'P2', 'P3']) {
    const card = page.locator(`article[data-pile="${pid}"]`);
    await expect(card).toBeVisible();
    await expect(card).toBeInViewport();
    await expect(card.getByRole('heading', { name: pid })).toBeVisible();
    await expect(card.locator('li[data-connector]')).toHaveCount(2);
  }
  const p2c2 = page.locator('li[data-pile="P2"][data-connector="2"]');
  await expect(p2c2).toHaveAttribute('data-state', 'available');
  await expect(p2c2).toContainText('available');

  // A driver starts a charge at Harbour Hub P2, connector 2, in the head unit.
  const car = await context.newPage();
  await openAs(car, 'EV-ANNA');
  await openPile(car, 'Harbour Hub P2');
  await connector(car, 2).getByRole('button', { name: 'Charge here' }).click();
  await car
    .getByRole('dialog', { name: 'Offer from the charger' })
    .getByRole('button', { name: 'Start charging' })
    .click();
  await expect(car.getByRole('heading', { name: 'Charging at Harbour Hub P2' })).toBeVisible();

  // The operator sees it: the connector charging, the session's energy rising from one poll to the next.
  await expect(p2c2).toHaveAttribute('data-state', 'charging');
  await expect(p2c2.locator('.state')).toHaveText('charging');
  const row = page.locator('tr[data-pile="P2"][data-connector="2"]');
  await expect(row).toBeVisible();
  await expect(row).toContainText('EV-ANNA');
  await expect
    .poll(() => shownNumber(page, 'tr[data-pile="P2"][data-connector="2"] .energy'))
    .toBeGreaterThan(0);
  const first = await shownNumber(page, 'tr[data-pile="P2"][data-connector="2"] .energy');
  await expect
    .poll(() => shownNumber(page, 'tr[data-pile="P2"][data-connector="2"] .energy'), { timeout: 15_000 })
    .toBeGreaterThan(first);
  await keepScreenshot(page, 'operator');
  // Readable by anyone: no serious or critical axe-core finding on the page with a session on it.
  const audit = await new AxeBuilder({ page }).options({ resultTypes: ['violations'] }).analyze();
  expect(audit.passes.map((r) => r.id)).toContain('color-contrast');
  expect(
    audit.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);

  // A refused request is counted under its code.
  const refused = page.locator('tr[data-code="MALFORMED"] td.num');
  const before =
    (await refused.count()) > 0 ? await shownNumber(page, 'tr[data-code="MALFORMED"] td.num') : 0;
  await sendMalformedRequest('P5');
  await expect(refused).toBeVisible();
  await expect.poll(() => shownNumber(page, 'tr[data-code="MALFORMED"] td.num')).toBe(before + 1);
  await expect(page.locator('article[data-pile="P5"] .refusals')).toContainText('MALFORMED');

  // The driver stops; the receipt comes first in the operator's list.
  await car.getByRole('button', { name: 'Stop charging' }).click();
  await expect(car.getByText('Receipt signature verified')).toBeVisible();
  await expect(row).toHaveCount(0);
  await expect(page.locator('section[aria-labelledby="receipts-h"] tbody tr').first()).toContainText(
    'EV-ANNA',
  );
  await expect(p2c2).toHaveAttribute('data-state', 'available');
  await car.close();
});
