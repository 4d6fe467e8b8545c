/**
 * <pile-detail>: one charger: where it is, its tariff, each connector with live state and a "Charge here"
 * button, the vehicle's credential there, and the running handshake (stepper, offer, failure).
 */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { OfferBody } from '../../shared/index.js';
import type { HandshakeFailure, HandshakePhase } from '../controllers/handshake-controller.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { AuthStep, PileInfo } from '../controllers/vehicle-port.js';
import './auth-failure.js';
import './auth-stepper.js';
import './credential-badge.js';
import { credentialState } from './credential-badge.js';
import './offer-card.js';
import { connectorPlugged, connectorState, pileName } from './pile-summary.js';
import { theme } from './theme.js';

export interface HandshakeView {
  phase: HandshakePhase;
  connector?: number;
  steps: Partial<Record<AuthStep, number>>;
  startedAt: number;
  offer?: OfferBody;
  failure?: HandshakeFailure;
}

@customElement('pile-detail')
export class PileDetail extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 20px;
        align-items: start;
      }
      @media (max-width: 900px) {
        :host {
          grid-template-columns: 1fr;
        }
      }
      .head {
        display: flex;
        align-items: center;
        gap: 16px;
        flex-wrap: wrap;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 6px 16px;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
      }
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        gap: 10px;
      }
      li {
        display: grid;
        grid-template-columns: 1fr auto;
        align-items: center;
        gap: 12px;
        padding: 10px 14px;
        background: var(--panel-2);
        border-radius: 12px;
      }
      .cred {
        display: flex;
        gap: 12px;
        align-items: center;
        flex-wrap: wrap;
        margin: 12px 0;
      }
      .side {
        display: grid;
        gap: 16px;
      }
      .denied {
        color: var(--bad);
      }
      .plug[data-plugged='false'] {
        color: var(--muted);
      }
    `,
  ];

  @property({ attribute: false }) pile?: PileInfo;
  @property({ type: Number }) credentialExp?: number;
  @property({ type: Boolean }) requesting = false;
  @property() credentialDenied?: string;
  @property({ attribute: false }) handshake?: HandshakeView;
  @property({ type: Number }) now = Date.now();
  private readonly i18n = new LocaleController(this);

  private fire(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  override render() {
    const p = this.pile;
    if (!p) return null;
    const t = this.i18n.t.bind(this.i18n);
    const f = this.i18n.format;
    const d = p.directory;
    const hs = this.handshake;
    const busy = hs?.phase === 'running' || hs?.phase === 'offer';
    const cred = credentialState(this.credentialExp, this.now);
    return html`<section class="panel" aria-labelledby="pile-name">
        <div class="head">
          <button @click=${() => this.fire('back')} aria-label=${t('detail.back')}>←</button>
          <h1 id="pile-name">${pileName(p)}</h1>
        </div>
        ${
          d
            ? html`<dl>
              <dt>${t('detail.site')}</dt><dd>${d.site}</dd>
              <dt>${t('detail.address')}</dt><dd>${d.address}</dd>
              <dt>${t('offer.price')}</dt><dd>${t('detail.tariff', { price: f.money(d.tariff.pricePerKWh, d.tariff.currency) })}</dd>
            </dl>`
            : null
        }
        <div class="cred">
          <credential-badge .exp=${this.credentialExp} .now=${this.now}></credential-badge>
          ${
            cred === 'valid'
              ? null
              : html`<button data-action="request-credential" ?disabled=${this.requesting} @click=${() => this.fire('request-credential', { pid: p.pid })}>
                ${this.requesting ? t('cred.requesting') : t(cred === 'missing' ? 'cred.request' : 'action.renew')}
              </button>`
          }
        </div>
        ${this.credentialDenied ? html`<p class="denied" role="alert">${t('cred.denied', { reason: this.credentialDenied })}</p>` : null}
        <ul>
          ${(d?.connectors ?? p.status?.connectors.map((c) => ({ id: c.id, maxW: 0 })) ?? []).map((c) => {
            const state = connectorState(p, c.id);
            // Plug first: a free connector says whether a cable is in it (where the charger can tell).
            const plugged = state === 'available' ? connectorPlugged(p, c.id) : undefined;
            return html`<li data-connector=${c.id}>
              <span>
                <strong>${t('detail.connector', { id: c.id })}</strong>
                · ${c.maxW ? t('detail.power', { kw: f.power(c.maxW) }) : ''}
                · <span class="state-${state}" data-state=${state}>${t(`state.${state}`)}</span>
                ${
                  plugged === undefined
                    ? null
                    : html`· <span class="plug" data-plugged=${String(plugged)}>${t(plugged ? 'detail.plugged' : 'detail.unplugged')}</span>`
                }
              </span>
              <button class="primary" ?disabled=${busy} data-action="authenticate"
                @click=${() => this.fire('authenticate', { pid: p.pid, connector: c.id })}>
                ${t('detail.authenticate')}
              </button>
            </li>`;
          })}
        </ul>
      </section>
      <div class="side">
        ${hs?.phase === 'offer' && hs.offer ? html`<offer-card .offer=${hs.offer}></offer-card>` : null}
        ${hs?.phase === 'failed' && hs.failure ? html`<auth-failure .code=${hs.failure.code} .detail=${hs.failure.message}></auth-failure>` : null}
        ${
          hs && hs.phase !== 'idle'
            ? html`<section class="panel" aria-live="polite">
              <h2>${busy ? t('auth.working') : t('step.label')}</h2>
              <auth-stepper .steps=${hs.steps} .startedAt=${hs.startedAt} .phase=${hs.phase}></auth-stepper>
            </section>`
            : null
        }
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pile-detail': PileDetail;
  }
}
