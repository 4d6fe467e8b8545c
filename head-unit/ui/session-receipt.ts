/**
 * <session-receipt>: the pile's receipt (session.end), shown once the car accepted it: its MAC verified and,
 * where it carries the pile's OCMF record (§8a), that record verified too. Says whether the charger signed it
 * and lets the driver export the record.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ReceiptBody } from '../../shared/index.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { MessageKey } from '../i18n/en.js';
import { chargerSignatureMark } from './charger-signature.js';
import { ocmfFileName } from './receipt-export.js';
import './receipt-export.js';
import { duration, theme } from './theme.js';

const REASONS: Record<string, MessageKey> = {
  stopped: 'reason.stopped',
  stop: 'reason.stopped',
  cap: 'reason.cap',
  unplugged: 'reason.unplugged',
  unplug: 'reason.unplugged',
  fault: 'reason.fault',
};

@customElement('session-receipt')
export class SessionReceipt extends LitElement {
  static override styles = [
    theme,
    css`
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 8px 20px;
        font-size: 20px;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        font-weight: 650;
      }
      .seal {
        color: var(--ok);
        font-weight: 650;
      }
      receipt-export {
        margin: 16px 0;
      }
    `,
  ];

  @property({ attribute: false }) receipt?: ReceiptBody;
  /** the pile's OCMF record of this receipt; absent from a revision-1 receipt */
  @property() ocmf?: string;
  /** true when the car verified `ocmf` under the pile's key */
  @property({ type: Boolean }) signedByCharger = false;
  @property() pid = '';
  @property() sid = '';
  private readonly i18n = new LocaleController(this);

  override render() {
    const r = this.receipt;
    if (!r) return null;
    const t = this.i18n.t.bind(this.i18n);
    const reason = REASONS[r.reason];
    const f = this.i18n.format;
    const time = (s: number) =>
      html`<time datetime=${new Date(s * 1000).toISOString()}>${f.dateTime(s * 1000)}</time>`;
    return html`<section class="panel" aria-labelledby="receipt-title" data-receipt>
      <h2 id="receipt-title">${t('receipt.title')}</h2>
      <p class="seal">✔ ${t('receipt.verified')}</p>
      <p>${chargerSignatureMark(this.i18n, { ocmf: this.ocmf, signedByCharger: this.signedByCharger })}</p>
      <dl>
        <dt>${t('receipt.energy')}</dt><dd data-receipt="energy">${f.energy(r.wh)} kWh</dd>
        <dt>${t('receipt.cost')}</dt><dd data-receipt="cost">${f.money(r.cost, r.currency)}</dd>
        <dt>${t('charge.duration')}</dt><dd>${duration((r.endedAt - r.startedAt) * 1000)}</dd>
        <dt>${t('receipt.reason')}</dt><dd data-receipt="reason">${reason ? t(reason) : r.reason}</dd>
        <dt>${t('receipt.started')}</dt><dd>${time(r.startedAt)}</dd>
        <dt>${t('receipt.ended')}</dt><dd>${time(r.endedAt)}</dd>
      </dl>
      ${
        this.ocmf
          ? html`<receipt-export .ocmf=${this.ocmf} .filename=${ocmfFileName(this.pid, r.endedAt * 1000, this.sid)}></receipt-export>`
          : null
      }
      <button class="primary" @click=${() => this.dispatchEvent(new CustomEvent('receipt-done', { bubbles: true, composed: true }))}>
        ${t('receipt.done')}
      </button>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-receipt': SessionReceipt;
  }
}
