/**
 * <session-history>: past charging sessions from IndexedDB, newest first, each with its energy chart, whether
 * the charger signed its receipt, and the export of the pile's OCMF record where there is one.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { listSessions, type SessionRecord } from '../state/history-store.js';
import { chargerSignatureMark } from './charger-signature.js';
import './energy-chart.js';
import { ocmfFileName } from './receipt-export.js';
import './receipt-export.js';
import { duration, theme } from './theme.js';

@customElement('session-history')
export class SessionHistory extends LitElement {
  static override styles = [
    theme,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(380px, 1fr));
        gap: 16px;
      }
      receipt-export {
        margin-top: 12px;
      }
      .meta {
        display: flex;
        flex-wrap: wrap;
        gap: 6px 18px;
        margin: 6px 0 12px;
      }
    `,
  ];

  @property() vid = '';
  /** bump to reload (a session was saved) */
  @property({ type: Number }) revision = 0;
  @state() private sessions: SessionRecord[] = [];
  private readonly i18n = new LocaleController(this);

  override async updated(changed: Map<string, unknown>) {
    if (changed.has('vid') || changed.has('revision')) {
      try {
        this.sessions = this.vid ? await listSessions(this.vid) : [];
      } catch {
        this.sessions = [];
      }
    }
  }

  override render() {
    const t = this.i18n.t.bind(this.i18n);
    const f = this.i18n.format;
    return html`<h1>${t('history.title')}</h1>
      ${
        this.sessions.length === 0
          ? html`<p class="muted">${t('history.empty')}</p>`
          : html`<ul aria-label=${t('history.title')}>
            ${this.sessions.map(
              (s) => html`<li class="panel" data-sid=${s.sid}>
                <h2>${s.pileName} · ${t('detail.connector', { id: s.connector })}</h2>
                <div class="meta">
                  <time datetime=${new Date(s.startedAt).toISOString()}>${f.dateTime(s.startedAt)}</time>
                  <span data-history="energy">${f.energy(s.wh)} kWh</span>
                  <span data-history="cost">${s.cost ? f.money(s.cost, s.currency) : '—'}</span>
                  ${s.endedAt ? html`<span>${duration(s.endedAt - s.startedAt)}</span>` : null}
                  ${s.receipt ? html`<span class="state-available">✔ ${t('receipt.verified')}</span>` : null}
                  ${s.receipt || s.ocmf ? chargerSignatureMark(this.i18n, s) : null}
                </div>
                <energy-chart .points=${s.points} .label=${t('history.chart', { pile: s.pileName })}></energy-chart>
                ${
                  s.ocmf
                    ? html`<receipt-export .ocmf=${s.ocmf} .filename=${ocmfFileName(s.pid, s.endedAt, s.sid)}></receipt-export>`
                    : null
                }
              </li>`,
            )}
          </ul>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'session-history': SessionHistory;
  }
}
