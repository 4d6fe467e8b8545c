/** Gives an element `t()` in the current language and re-renders it when the driver switches language. */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MessageKey } from '../i18n/en.js';
import { type Formats, formatsFor, formattingLocale } from '../i18n/format.js';
import { type Locale, localeState, type Params, translate } from '../i18n/locale.js';

export class LocaleController implements ReactiveController {
  private unsubscribe?: () => void;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  get locale(): Locale {
    return localeState.locale;
  }

  t(key: MessageKey, params?: Params): string {
    return translate(localeState.locale, key, params);
  }

  /** Numbers, money and times in the driver's language. */
  get format(): Formats {
    return formatsFor(formattingLocale(this.locale));
  }

  hostConnected(): void {
    this.unsubscribe = localeState.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
  }
}
