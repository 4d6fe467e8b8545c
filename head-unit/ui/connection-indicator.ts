/** <connection-indicator>: the broker link's state, with a Reconnect button when it is not up. */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { ConnectionState } from '../controllers/vehicle-port.js';
import { theme } from './theme.js';

@customElement('connection-indicator')
export class ConnectionIndicator extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 12px;
      }
      .dot {
        width: 14px;
        height: 14px;
        border-radius: 50%;
        background: var(--bad);
      }
      .online .dot {
        background: var(--ok);
      }
      .connecting .dot,
      .reconnecting .dot {
        background: var(--warn);
        animation: pulse 1s infinite alternate;
      }
      @keyframes pulse {
        to {
          opacity: 0.3;
        }
      }
      span.label {
        display: flex;
        align-items: center;
        gap: 8px;
      }
    `,
  ];

  @property() state: ConnectionState = 'connecting';
  private readonly i18n = new LocaleController(this);

  override render() {
    const label = this.i18n.t(`conn.${this.state}`);
    return html`<span class="label ${this.state}" role="status" aria-live="polite" data-state=${this.state}>
        <span class="dot" aria-hidden="true"></span>${label}
      </span>
      ${
        this.state === 'online'
          ? null
          : html`<button @click=${() => this.dispatchEvent(new CustomEvent('reconnect', { bubbles: true, composed: true }))}>
            ${this.i18n.t('conn.reconnect')}
          </button>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'connection-indicator': ConnectionIndicator;
  }
}
