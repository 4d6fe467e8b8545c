/**
 * Numbers, money and times as the driver reads them, with Intl for the chosen language, in the head unit's own
 * time zone. The Intl objects are kept per locale: views re-render every second.
 */
import type { Locale } from './locale.js';

/**
 * The BCP 47 locale to format with: for English the browser's own variant if it has one (en-US writes 8:05 PM,
 * en-GB 20:05), else en-GB; for 中文 zh-CN, the catalogue's (its formats only use characters the app's Chinese
 * font has: see format.test.ts).
 */
export function formattingLocale(
  locale: Locale,
  preferred: readonly string[] = globalThis.navigator?.languages ?? [],
): string {
  if (locale === 'zh') return 'zh-CN';
  return preferred.find((tag) => /^en-[a-z]{2}$/i.test(tag)) ?? 'en-GB';
}

/** The number of digits after the decimal point in a decimal string ("0.125" → 3). */
function decimalsOf(amount: string): number {
  return /\.(\d+)$/.exec(amount)?.[1]?.length ?? 0;
}

export class Formats {
  private readonly numbers = new Map<string, Intl.NumberFormat>();
  private readonly dates = new Map<string, Intl.DateTimeFormat>();

  /** `timeZone`: the head unit's own unless given (tests give one) */
  constructor(
    readonly locale: string,
    private readonly timeZone?: string,
  ) {}

  private number(options: Intl.NumberFormatOptions): Intl.NumberFormat {
    const key = JSON.stringify(options);
    let format = this.numbers.get(key);
    if (!format) {
      format = new Intl.NumberFormat(this.locale, options);
      this.numbers.set(key, format);
    }
    return format;
  }

  private date(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
    const key = JSON.stringify(options);
    let format = this.dates.get(key);
    if (!format) {
      format = new Intl.DateTimeFormat(this.locale, { ...options, timeZone: this.timeZone });
      this.dates.set(key, format);
    }
    return format;
  }

  /** Watts as kW, to a tenth: "150", "7.4" (the unit is in the message). */
  power(w: number): string {
    return this.number({ maximumFractionDigits: 1 }).format(w / 1000);
  }

  /** Watt-hours as kWh, to the hundredth: "12.34". */
  energy(wh: number): string {
    return this.number({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(wh / 1000);
  }

  /**
   * A decimal amount ("0.39", as offers and receipts carry them) in `currency`: "€0.39". Never rounds away a
   * digit the pile signed; an amount or currency Intl cannot take is shown as it came.
   */
  money(amount: string, currency: string): string {
    const value = Number(amount);
    if (amount.trim() === '' || !Number.isFinite(value)) return amount;
    try {
      const usual = this.number({ style: 'currency', currency });
      const decimals = decimalsOf(amount.trim());
      if (decimals <= (usual.resolvedOptions().maximumFractionDigits ?? 2)) return usual.format(value);
      return this.number({
        style: 'currency',
        currency,
        maximumFractionDigits: Math.min(decimals, 20),
      }).format(value);
    } catch {
      return `${amount} ${currency}`;
    }
  }

  /** A time of day with its zone, where the moment matters ("09:05:30 CET", "GMT+8 21:05:30", "8:05:30 AM EST"). */
  timeWithZone(ms: number): string {
    // Two-digit hours on a 24-hour clock, as those locales write them; "8:05 AM" on a 12-hour one.
    const hour = this.date({ hour: 'numeric' }).resolvedOptions().hour12 ? 'numeric' : '2-digit';
    return this.date({ hour, minute: '2-digit', second: '2-digit', timeZoneName: 'short' }).format(ms);
  }

  /** A date and time ("04/03/2026, 14:05", "2026/3/4 21:05"). */
  dateTime(ms: number): string {
    return this.date({ dateStyle: 'short', timeStyle: 'short' }).format(ms);
  }
}

const byLocale = new Map<string, Formats>();

export function formatsFor(locale: string): Formats {
  let formats = byLocale.get(locale);
  if (!formats) {
    formats = new Formats(locale);
    byLocale.set(locale, formats);
  }
  return formats;
}
