/** <energy-chart>: a small SVG of energy over time from verified readings only. */
import { css, html, LitElement, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { EnergyPoint } from '../state/history-store.js';
import { chartGeometry } from './chart-geometry.js';

const W = 300;
const H = 90;

@customElement('energy-chart')
export class EnergyChart extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    svg {
      width: 100%;
      height: auto;
      display: block;
    }
    .axis {
      fill: #9aa8b8;
      font-size: 11px;
    }
  `;

  @property({ attribute: false }) points: EnergyPoint[] = [];
  @property() label = '';
  private readonly i18n = new LocaleController(this);

  override render() {
    const g = chartGeometry(this.points, W, H);
    return html`<svg viewBox="0 0 ${W} ${H + 16}" role="img" aria-label=${this.label}>
      <rect x="0" y="0" width=${W} height=${H} fill="#181e26" rx="6"></rect>
      ${
        g.path
          ? svg`<path d=${g.area} fill="rgba(63,182,255,0.18)"></path>
            <path d=${g.path} fill="none" stroke="#3fb6ff" stroke-width="2.5" stroke-linejoin="round"></path>`
          : null
      }
      <text class="axis" x="2" y=${H + 13}>0</text>
      <text class="axis" x=${W - 2} y=${H + 13} text-anchor="end">${this.i18n.format.energy(g.maxWh)} kWh</text>
    </svg>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'energy-chart': EnergyChart;
  }
}
