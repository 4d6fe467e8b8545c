/** <pile-list>: the chargers from the directory with live state, power, tariff and the credential badge. */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { PileInfo } from '../controllers/vehicle-port.js';
import './credential-badge.js';
import { maxPowerW, pileName, pileState } from './pile-summary.js';
import { theme } from './theme.js';

@customElement('pile-list')
export class PileList extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
        gap: 16px;
      }
      button.card {
        width: 100%;
        min-height: 132px;
        text-align: left;
        padding: 18px 20px;
        display: grid;
        gap: 8px;
        background: var(--panel);
        font-weight: 400;
      }
      .name {
        font-size: 21px;
        font-weight: 650;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 8px 16px;
        align-items: center;
      }
      .state {
        font-weight: 650;
      }
    `,
  ];

  @property({ attribute: false }) piles: PileInfo[] = [];
  /** pid -> credential expiry (unix s) */
  @property({ attribute: false }) credentials: Record<string, number | undefined> = {};
  @property({ type: Number }) now = Date.now();
  private readonly i18n = new LocaleController(this);

  private open(pid: string) {
    this.dispatchEvent(new CustomEvent('open-pile', { detail: { pid }, bubbles: true, composed: true }));
  }

  override render() {
    const t = this.i18n.t.bind(this.i18n);
    const f = this.i18n.format;
    if (this.piles.length === 0) return html`<p class="muted" role="status">${t('piles.empty')}</p>`;
    return html`<ul aria-label=${t('piles.title')}>
      ${repeat(
        this.piles,
        (p) => p.pid,
        (p) => {
          const state = pileState(p);
          const name = pileName(p);
          const tariff = p.directory?.tariff;
          return html`<li>
            <button class="card" data-pid=${p.pid} aria-label=${t('piles.open', { name })} @click=${() => this.open(p.pid)}>
              <span class="name">${name}</span>
              <span class="row muted">${p.directory?.site ?? ''}</span>
              <span class="row">
                <span class="state state-${state}" data-state=${state}>${t(`state.${state}`)}</span>
                <span>${t('piles.upTo', { kw: f.power(maxPowerW(p)) })}</span>
                ${tariff ? html`<span>${t('detail.tariff', { price: f.money(tariff.pricePerKWh, tariff.currency) })}</span>` : null}
              </span>
              <span class="row"><credential-badge .exp=${this.credentials[p.pid]} .now=${this.now}></credential-badge></span>
            </button>
          </li>`;
        },
      )}
    </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pile-list': PileList;
  }
}
