/**
 * <charging-view>: live power, energy, duration and cost, counted only from meter values whose MAC verified;
 * rejected readings are shown as such; Stop; then the signed receipt.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { type ChargingController, energyPoints } from '../controllers/charging-controller.js';
import { LocaleController } from '../controllers/locale-controller.js';
import './energy-chart.js';
import './session-receipt.js';
import { duration, theme } from './theme.js';

/** The core's code for a receipt whose OCMF record (§8a) failed: refused like a forged reading, never accepted. */
const RECEIPT_RECORD_REFUSED = 'BAD_OCMF';

@customElement('charging-view')
export class ChargingView extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
        gap: 20px;
        align-items: start;
      }
      @media (max-width: 900px) {
        :host {
          grid-template-columns: 1fr;
        }
      }
      .figures {
        display: grid;
        grid-template-columns: repeat(2, 1fr);
        gap: 14px;
        margin: 16px 0;
      }
      .figure {
        background: var(--panel-2);
        border-radius: 12px;
        padding: 14px 18px;
      }
      .figure .value {
        font-size: 40px;
        font-weight: 700;
        font-variant-numeric: tabular-nums;
      }
      .figure .unit {
        font-size: 18px;
        color: var(--muted);
        margin-left: 6px;
      }
      .verified {
        color: var(--ok);
        font-weight: 650;
      }
      .rejected {
        color: var(--bad);
      }
      button.danger {
        min-height: 64px;
        font-size: 22px;
        width: 100%;
      }
    `,
  ];

  @property({ attribute: false }) charging?: ChargingController;
  /** the controller's version: a new value re-renders */
  @property({ type: Number }) version = 0;
  @property({ type: Number }) now = Date.now();
  private readonly i18n = new LocaleController(this);

  override render() {
    const c = this.charging;
    const t = this.i18n.t.bind(this.i18n);
    const f = this.i18n.format;
    if (!c?.session) return html`<p class="muted">${t('charge.none')}</p>`;
    const latest = c.latest;
    const lastRejected = c.rejected[c.rejected.length - 1];
    const points = energyPoints(c.verified);
    return html`<section class="panel" aria-labelledby="charging-title" data-sid=${c.session.sid}>
        <h1 id="charging-title">${t('charge.title', { name: c.pileName })}</h1>
        ${
          latest
            ? html`<p class="verified" data-verified="true" data-seq=${latest.seq}>✔ ${t('charge.verified')}</p>`
            : html`<p class="muted" role="status">${t('charge.waiting')}</p>`
        }
        <div class="figures" role="group">
          <div class="figure"><div class="muted">${t('charge.power')}</div>
            <span class="value" data-figure="power">${f.power(c.powerW)}</span><span class="unit">kW</span></div>
          <div class="figure"><div class="muted">${t('charge.energy')}</div>
            <span class="value" data-figure="energy">${f.energy(c.receipt?.wh ?? c.energyWh)}</span><span class="unit">kWh</span></div>
          <div class="figure"><div class="muted">${t('charge.duration')}</div>
            <span class="value" data-figure="duration">${duration(c.durationMs(this.now))}</span></div>
          <div class="figure"><div class="muted">${t('charge.cost')}</div>
            <span class="value" data-figure="cost">${f.money(c.receipt?.cost ?? c.cost, c.receipt?.currency ?? c.session.offer.currency)}</span></div>
        </div>
        ${
          lastRejected
            ? html`<p class="rejected" role="alert" data-rejected=${c.rejected.length}>
              ✕ ${
                lastRejected.code === RECEIPT_RECORD_REFUSED
                  ? t('charge.receiptRejected')
                  : t('charge.rejected', { code: lastRejected.code })
              } · ${t('charge.rejectedCount', { n: c.rejected.length })}</p>`
            : null
        }
        ${
          c.receipt
            ? null
            : html`<button class="danger" ?disabled=${c.stopping} @click=${() => c.stop()}>
              ${c.stopping ? t('charge.stopping') : t('charge.stop')}</button>`
        }
      </section>
      <div>
        ${
          c.receipt
            ? html`<session-receipt .receipt=${c.receipt} .ocmf=${c.ocmf} .signedByCharger=${c.signedByCharger}
                .pid=${c.session.pid} .sid=${c.session.sid}></session-receipt>`
            : null
        }
        <section class="panel" style="margin-top:16px">
          <energy-chart .points=${points} .label=${t('history.chart', { pile: c.pileName })}></energy-chart>
        </section>
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'charging-view': ChargingView;
  }
}
