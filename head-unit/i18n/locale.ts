/** Run-time language switching over the typed catalogues (no reload; every LocaleController re-renders). */
import { en, type MessageKey } from './en.js';
import { zh } from './zh.js';

export const LOCALES = ['en', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];

const catalogues: Record<Locale, Record<MessageKey, string>> = { en, zh };

export type Params = Record<string, string | number>;

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const template = catalogues[locale][key] ?? en[key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

type Listener = (locale: Locale) => void;

/** The one current locale of the page; persisted so a restart keeps the driver's choice. */
class LocaleState {
  private current: Locale = 'en';
  private readonly listeners = new Set<Listener>();

  constructor() {
    const saved = globalThis.localStorage?.getItem('evauth.locale');
    if (isLocale(saved)) this.current = saved;
    this.applyToDocument();
  }

  get locale(): Locale {
    return this.current;
  }

  set(locale: Locale): void {
    if (locale === this.current) return;
    this.current = locale;
    globalThis.localStorage?.setItem('evauth.locale', locale);
    this.applyToDocument();
    for (const listener of this.listeners) listener(locale);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private applyToDocument(): void {
    if (globalThis.document) document.documentElement.lang = this.current === 'zh' ? 'zh-CN' : 'en';
  }
}

export const localeState = new LocaleState();
