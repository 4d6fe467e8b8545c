/** <offer-card>: the pile's sealed offer, opened: price, max power, validity; the driver confirms or declines. */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { OfferBody } from '../../shared/index.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { theme } from './theme.js';

@customElement('offer-card')
export class OfferCard extends LitElement {
  static override styles = [
    theme,
    css`
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 8px 20px;
        margin: 0 0 16px;
        font-size: 22px;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        font-weight: 650;
      }
      .actions {
        display: flex;
        gap: 12px;
      }
      .actions button {
        min-height: 60px;
        font-size: 20px;
      }
    `,
  ];

  @property({ attribute: false }) offer?: OfferBody;
  private readonly i18n = new LocaleController(this);

  /** A new offer takes the focus, so the knob's next turn reaches its buttons (and not one press starts it). */
  override updated(changed: Map<string, unknown>): void {
    if (changed.has('offer') && this.offer) this.renderRoot.querySelector<HTMLElement>('section')?.focus();
  }

  private answer(type: 'accept-offer' | 'decline-offer') {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true }));
  }

  override render() {
    const o = this.offer;
    if (!o) return null;
    const t = this.i18n.t.bind(this.i18n);
    const f = this.i18n.format;
    const expires = o.expiresAt * 1000;
    return html`<section class="panel" role="dialog" aria-labelledby="offer-title" tabindex="-1">
      <h2 id="offer-title">${t('offer.title')}</h2>
      <dl>
        <dt>${t('offer.price')}</dt>
        <dd data-offer="price">${t('detail.tariff', { price: f.money(o.pricePerKWh, o.currency) })}</dd>
        <dt>${t('offer.maxPower')}</dt>
        <dd data-offer="maxW">${t('detail.power', { kw: f.power(o.maxW) })}</dd>
        <dt>${t('offer.expires')}</dt>
        <dd data-offer="expires"><time datetime=${new Date(expires).toISOString()}>${f.timeWithZone(expires)}</time></dd>
      </dl>
      <div class="actions">
        <button class="primary" @click=${() => this.answer('accept-offer')}>${t('offer.accept')}</button>
        <button @click=${() => this.answer('decline-offer')}>${t('offer.decline')}</button>
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'offer-card': OfferCard;
  }
}
