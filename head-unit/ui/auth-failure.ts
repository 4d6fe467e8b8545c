/**
 * <auth-failure>: why charging did not start, in plain words, and the next thing to do. A pile that failed its
 * proof gets the strongest warning: it could not prove it is genuine, and nothing more was sent to it.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { ACTION_LABEL, adviceFor } from '../i18n/error-advice.js';
import { theme } from './theme.js';

@customElement('auth-failure')
export class AuthFailure extends LitElement {
  static override styles = [
    theme,
    css`
      section {
        border-left: 6px solid var(--warn);
      }
      section.counterfeit {
        border: 2px solid var(--bad);
        border-left-width: 10px;
        background: #2a1215;
      }
      .counterfeit h2 {
        color: var(--bad);
        font-size: 26px;
      }
      .actions {
        display: flex;
        gap: 12px;
        margin-top: 16px;
      }
      .code {
        font-family: var(--mono);
      }
    `,
  ];

  @property() code = '';
  /** the technical detail (from the pile or the cloud), shown small under the plain message */
  @property() detail = '';
  private readonly i18n = new LocaleController(this);

  /** A new failure takes the focus, so the knob's next turn reaches what to do about it. */
  override updated(changed: Map<string, unknown>): void {
    if (changed.has('code') && this.code) this.renderRoot.querySelector<HTMLElement>('section')?.focus();
  }

  private act(action: string) {
    this.dispatchEvent(
      new CustomEvent('failure-action', { detail: { action }, bubbles: true, composed: true }),
    );
  }

  override render() {
    const t = this.i18n.t.bind(this.i18n);
    const advice = adviceFor(this.code);
    return html`<section class="panel ${advice.counterfeit ? 'counterfeit' : ''}" role="alert" data-code=${this.code} tabindex="-1">
      <h2>${advice.counterfeit ? `⚠ ${t('fail.notGenuineTitle')}` : t('fail.title')}</h2>
      <p>${advice.counterfeit ? t('fail.notGenuine') : t(advice.message)}</p>
      <p class="muted code">${t('fail.code', { code: this.code })}${this.detail ? ` · ${this.detail}` : ''}</p>
      <div class="actions">
        <button class="primary" data-action=${advice.action} @click=${() => this.act(advice.action)}>
          ${t(ACTION_LABEL[advice.action])}
        </button>
        ${advice.action === 'dismiss' ? null : html`<button data-action="dismiss" @click=${() => this.act('dismiss')}>${t('action.dismiss')}</button>`}
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'auth-failure': AuthFailure;
  }
}
