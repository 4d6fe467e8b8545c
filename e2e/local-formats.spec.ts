import { expect, test } from '@playwright/test';
import { connector, openAs } from './support/app.js';
import { expectGlyphs } from './support/glyphs.js';

/**
 * The head unit in Berlin set to British English, and in Shanghai set to Chinese: the offer's validity in local
 * time with the zone named, and prices, power, energy, cost and times formatted for the locale. Expected values
 * come from Node's own Intl (another ICU than Chromium's) and from plain UTC arithmetic.
 */
const CASES = [
  { locale: 'en-GB', timezoneId: 'Europe/Berlin', chinese: false, zone: /^CES?T$/ },
  { locale: 'zh-CN', timezoneId: 'Asia/Shanghai', chinese: true, zone: /^GMT\+8$/ },
];

for (const c of CASES) {
  test.describe(`${c.locale} in ${c.timezoneId}`, () => {
    test.use({ locale: c.locale, timezoneId: c.timezoneId });

    test('the offer is valid until a local time with its zone; money, power, energy and times as the locale writes them', async ({
      page,
    }) => {
      const money = (value: number) =>
        new Intl.NumberFormat(c.locale, { style: 'currency', currency: 'EUR' }).format(value);
      const dateTime = (at: number) =>
        new Intl.DateTimeFormat(c.locale, {
          dateStyle: 'short',
          timeStyle: 'short',
          timeZone: c.timezoneId,
        }).format(at);
      const validUntil = new Intl.DateTimeFormat(c.locale, {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        timeZoneName: 'short',
        timeZone: c.timezoneId,
      });

      await openAs(page, 'EV-ANNA');
      if (c.chinese) await page.getByRole('button', { name: 'Language' }).click();
      const card = page.locator('pile-list button[data-pid="P5"]');
      await expect(card).toContainText(`${money(0.45)}/kWh`);
      await card.click();
      await expect(page.locator('pile-detail dd').filter({ hasText: '/kWh' })).toHaveText(
        `${money(0.45)}/kWh`,
      );
      await connector(page, 1).locator('[data-action="authenticate"]').click();

      const offer = page.locator('offer-card');
      const expires = offer.locator('[data-offer="expires"] time');
      await expect(expires).toBeInViewport();
      const at = Date.parse((await expires.getAttribute('datetime')) ?? '');
      expect(at).toBeGreaterThan(Date.now());
      await expect(expires).toHaveText(validUntil.format(at));
      const parts = validUntil.formatToParts(at);
      expect(parts.find((p) => p.type === 'timeZoneName')?.value).toMatch(c.zone);
      if (c.timezoneId === 'Asia/Shanghai') {
        const hour = String((new Date(at).getUTCHours() + 8) % 24).padStart(2, '0');
        await expect(expires).toContainText(`${hour}:`);
      }
      // Not clipped: the whole time is drawn inside its box.
      expect(await expires.evaluate((el) => el.scrollWidth <= el.parentElement!.clientWidth)).toBe(true);
      await expect(offer.locator('[data-offer="price"]')).toHaveText(`${money(0.45)}/kWh`);
      await expect(offer.locator('[data-offer="maxW"]')).toHaveText('22 kW');
      if (c.chinese) await expectGlyphs(page, offer.locator('dt').last());

      await offer.locator('button.primary').click();
      await expect
        .poll(async () =>
          Number(await page.locator('charging-view [data-verified]').getAttribute('data-seq')),
        )
        .toBeGreaterThanOrEqual(4);
      await expect(page.locator('[data-figure="energy"]')).toHaveText(/^\d+\.\d{2}$/);
      await expect(page.locator('[data-figure="cost"]')).toHaveText(/^€\d+\.\d{2}$/);
      await page.locator('charging-view button.danger').click();

      const receipt = page.locator('session-receipt');
      await expect(receipt.locator('[data-receipt="cost"]')).toHaveText(/^€\d+\.\d{2}$/);
      const cost = (await receipt.locator('[data-receipt="cost"]').textContent()) ?? '';
      await expect(receipt.locator('[data-receipt="cost"]')).toHaveText(money(Number(cost.slice(1))));
      await expect(receipt.locator('[data-receipt="energy"]')).toHaveText(/^\d+\.\d{2} kWh$/);
      for (const time of await receipt.locator('time').all()) {
        const when = Date.parse((await time.getAttribute('datetime')) ?? '');
        await expect(time).toHaveText(dateTime(when));
        await expect(time).toBeInViewport();
      }
      await receipt.locator('button.primary').click();
      const entry = page.locator('session-history li').first();
      const started = entry.locator('time');
      await expect(started).toHaveText(dateTime(Date.parse((await started.getAttribute('datetime')) ?? '')));
      await expect(entry.locator('[data-history="cost"]')).toHaveText(cost);
      if (c.chinese) {
        await page.getByRole('button', { name: '语言' }).click();
        await expect(page.getByRole('heading', { name: 'Charging history' })).toBeVisible();
      }
    });
  });
}
