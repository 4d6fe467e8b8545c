import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cjkCharactersOf, collectCjkCharacters } from '../build/cjk-font.js';
import { Formats, formattingLocale } from './format.js';

const AT = Date.UTC(2026, 2, 4, 13, 5, 30);

describe('formattingLocale', () => {
  it('takes the browser’s own English, else en-GB; zh-CN for 中文', () => {
    expect(formattingLocale('en', ['en-US', 'de-DE'])).toBe('en-US');
    expect(formattingLocale('en', ['de-DE', 'en-AU'])).toBe('en-AU');
    expect(formattingLocale('en', ['en', 'fr-FR'])).toBe('en-GB');
    expect(formattingLocale('en', [])).toBe('en-GB');
    expect(formattingLocale('zh', ['zh-TW', 'en-US'])).toBe('zh-CN');
  });
});

describe('Formats', () => {
  const gb = new Formats('en-GB', 'Europe/Berlin');
  const us = new Formats('en-US', 'America/New_York');
  const cn = new Formats('zh-CN', 'Asia/Shanghai');

  it('power in kW to a tenth, energy in kWh to the hundredth, grouped as the locale does', () => {
    expect(gb.power(150_000)).toBe('150');
    expect(gb.power(7_400)).toBe('7.4');
    expect(gb.power(1_234_567)).toBe('1,234.6');
    expect(gb.energy(12_340)).toBe('12.34');
    expect(gb.energy(0)).toBe('0.00');
    expect(new Formats('de-DE').energy(1_234_560)).toBe('1.234,56');
  });

  it('money in its currency, keeping every signed digit, and as it came when Intl cannot take it', () => {
    expect(gb.money('0.39', 'EUR')).toBe('€0.39');
    expect(gb.money('3', 'EUR')).toBe('€3.00');
    expect(gb.money('0.125', 'EUR')).toBe('€0.125');
    expect(cn.money('12.5', 'CNY')).toBe('¥12.50');
    expect(gb.money('12.5', 'CNY')).toBe('CN¥12.50');
    expect(gb.money('1.2', 'E')).toBe('1.2 E');
    expect(gb.money('—', 'EUR')).toBe('—');
  });

  it('times in the head unit’s zone, named where the moment matters', () => {
    expect(gb.timeWithZone(AT)).toBe('14:05:30 CET');
    expect(cn.timeWithZone(AT)).toBe('GMT+8 21:05:30');
    expect(us.timeWithZone(AT)).toMatch(/^8:05:30\sAM EST$/);
    expect(gb.timeWithZone(Date.UTC(2026, 2, 4, 8, 5, 30))).toBe('09:05:30 CET');
    expect(gb.dateTime(AT)).toBe('04/03/2026, 14:05');
    expect(cn.dateTime(AT)).toBe('2026/3/4 21:05');
  });

  it('writes Chinese formats only with characters the app’s Chinese font has', async () => {
    const font = await collectCjkCharacters(fileURLToPath(new URL('..', import.meta.url)));
    let shown = '';
    for (let month = 0; month < 12; month++) {
      for (const hour of [0, 9, 12, 23]) {
        const at = Date.UTC(2026, month, 28, hour, 59, 59);
        shown += cn.timeWithZone(at) + cn.dateTime(at);
      }
    }
    shown += cn.money('1234.5', 'EUR') + cn.money('8', 'CNY') + cn.money('1', 'USD') + cn.energy(1e9);
    const missing = [...cjkCharactersOf(shown)].filter((c) => !font.all.includes(c));
    expect(missing).toEqual([]);
  });
});
