/** <credential-badge>: the vehicle's credential at one pile: valid, expiring (< 15 min left), expired or missing. */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { theme } from './theme.js';

export type CredentialState = 'valid' | 'expiring' | 'expired' | 'missing';

export const EXPIRING_WITHIN_S = 15 * 60;

export function credentialState(exp: number | undefined, nowMs: number): CredentialState {
  if (exp === undefined) return 'missing';
  const left = exp - Math.floor(nowMs / 1000);
  if (left < 0) return 'expired';
  return left < EXPIRING_WITHIN_S ? 'expiring' : 'valid';
}

@customElement('credential-badge')
export class CredentialBadge extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: inline-flex;
      }
      span {
        display: inline-flex;
        align-items: center;
        gap: 6px;
        padding: 4px 12px;
        border-radius: 999px;
        font-size: 15px;
        font-weight: 600;
        border: 1px solid currentColor;
      }
      .valid {
        color: var(--ok);
      }
      .expiring {
        color: var(--warn);
      }
      .expired,
      .missing {
        color: var(--bad);
      }
    `,
  ];

  /** unix seconds; undefined = no credential */
  @property({ type: Number }) exp?: number;
  @property({ type: Number }) now = Date.now();
  private readonly i18n = new LocaleController(this);

  override render() {
    const state = credentialState(this.exp, this.now);
    const title = this.exp
      ? this.i18n.t('cred.until', { time: this.i18n.format.dateTime(this.exp * 1000) })
      : '';
    return html`<span class=${state} data-credential=${state} title=${title}>${this.i18n.t(`cred.${state}`)}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'credential-badge': CredentialBadge;
  }
}
