import { expect, type Locator, type Page, test } from '@playwright/test';
import { connector, openAs } from './support/app.js';
import { outlineSides } from './support/pixels.js';

/** The theme's accent (--accent), the focus ring's colour. */
const RING: [number, number, number] = [0x3f, 0xb6, 0xff];

/** `element` has the focus, and its focus ring is drawn all round it. */
async function expectFocusRing(page: Page, element: Locator): Promise<void> {
  await expect(element).toBeFocused();
  expect(await outlineSides(page, element, RING), 'focus ring on top, right, bottom, left').toEqual([
    true,
    true,
    true,
    true,
  ]);
}

async function turn(page: Page, key: 'ArrowDown' | 'ArrowUp' | 'ArrowLeft' | 'ArrowRight', element: Locator) {
  await page.keyboard.press(key);
  await expectFocusRing(page, element);
}

test('a rotary knob (arrow keys, Enter) reaches every control in reading order, with a focus ring, and charges', async ({
  page,
}) => {
  await openAs(page, 'EV-ANNA');
  const cards = page.locator('pile-list button.card');
  // The directory arrives in one burst: wait until the list stops growing.
  let count = 0;
  await expect
    .poll(
      async () => {
        const now = await cards.count();
        const settled = now > 1 && now === count;
        count = now;
        return settled;
      },
      { intervals: [300] },
    )
    .toBe(true);

  // The chargers first (the view's content), row by row as they are laid out.
  await turn(page, 'ArrowDown', cards.nth(0));
  let previous = (await cards.nth(0).boundingBox())!;
  for (let i = 1; i < count; i++) {
    await turn(page, 'ArrowDown', cards.nth(i));
    const box = (await cards.nth(i).boundingBox())!;
    const sameRow = Math.abs(box.y - previous.y) < 1;
    expect(sameRow ? box.x > previous.x : box.y > previous.y, `card ${i} after card ${i - 1}`).toBe(true);
    previous = box;
  }
  expect(await outlineSides(page, cards.nth(0), RING), 'no ring once the focus moved on').toEqual([
    false,
    false,
    false,
    false,
  ]);

  // Round to the header, then the navigation top to bottom, then the chargers again; back the other way.
  await turn(page, 'ArrowDown', page.locator('header [data-action="switch-language"]'));
  const nav = page.locator('nav button');
  for (let i = 0; i < 4; i++) await turn(page, 'ArrowRight', nav.nth(i));
  await turn(page, 'ArrowDown', cards.nth(0));
  await turn(page, 'ArrowUp', nav.nth(3));
  await turn(page, 'ArrowLeft', nav.nth(2));

  // Enter opens a charger; the next turn starts in its content; the offer takes the focus, Space accepts.
  await turn(page, 'ArrowDown', nav.nth(3));
  for (let i = 0; i <= 2; i++) await turn(page, 'ArrowDown', cards.nth(i));
  await page.keyboard.press('Enter');
  await expect(page.locator('pile-detail h1')).toHaveText('Harbour Hub P3');
  await turn(page, 'ArrowDown', page.getByRole('button', { name: 'Back to chargers' }));
  const charge = connector(page, 2).locator('[data-action="authenticate"]');
  for (let i = 0; i < 6 && !(await charge.evaluate((el) => el.matches(':focus'))); i++) {
    await page.keyboard.press('ArrowDown');
  }
  await expectFocusRing(page, charge);
  await page.keyboard.press('Enter');
  const offer = page.getByRole('dialog', { name: 'Offer from the charger' });
  await expect(offer).toBeFocused();
  await turn(page, 'ArrowDown', offer.getByRole('button', { name: 'Start charging' }));
  await page.keyboard.press('Space');
  await expect(page.locator('charging-view [data-verified="true"]')).toBeVisible();
  await turn(page, 'ArrowDown', page.getByRole('button', { name: 'Stop charging' }));
  await page.keyboard.press('Enter');
  await expect(page.getByText('Receipt signature verified')).toBeVisible();
  // The receipt's export of the pile's signed record (OCMF), then Done.
  for (const name of ['Copy OCMF', 'Download .ocmf', 'Show QR code', 'Done']) {
    await turn(page, 'ArrowDown', page.locator('session-receipt').getByRole('button', { name }));
  }
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Charging history' })).toBeVisible();

  // Back through the history entry's export (the content's last controls) to the navigation.
  const history = page.locator('session-history');
  for (const name of ['Show QR code', 'Download .ocmf', 'Copy OCMF']) {
    await turn(page, 'ArrowUp', history.getByRole('button', { name }));
  }

  // Settings: Enter toggles the checkbox; in the pairing box the arrows move the caret, not the focus.
  await turn(page, 'ArrowUp', nav.nth(3));
  await page.keyboard.press('Enter');
  const settings = page.locator('settings-view');
  await turn(page, 'ArrowDown', settings.getByRole('button', { name: 'English' }));
  await turn(page, 'ArrowDown', settings.getByRole('button', { name: '中文' }));
  const autoAccept = page.getByRole('checkbox', { name: 'Accept offers automatically' });
  await turn(page, 'ArrowDown', autoAccept);
  await page.keyboard.press('Enter');
  await expect(autoAccept).toBeChecked();
  await page.keyboard.press('Enter');
  await expect(autoAccept).not.toBeChecked();
  await turn(page, 'ArrowDown', page.getByRole('button', { name: 'Forget this vehicle' }));
  const pairBox = page.getByRole('textbox', { name: 'Pair vehicle' });
  await turn(page, 'ArrowDown', pairBox);
  await page.keyboard.type('ab');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowUp');
  await expect(pairBox).toBeFocused();
  expect(await pairBox.evaluate((el) => (el as HTMLTextAreaElement).selectionStart)).toBe(0);
});
