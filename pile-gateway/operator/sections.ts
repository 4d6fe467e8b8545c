/** What the operator page draws of one view: piles and connectors, open sessions, refusals, last receipts. */
import { css, html, nothing, type TemplateResult } from 'lit';
import type {
  OperatorConnector,
  OperatorPile,
  OperatorReceipt,
  OperatorSession,
  OperatorView,
} from './view.js';

const kWh = new Intl.NumberFormat('en', { minimumFractionDigits: 3, maximumFractionDigits: 3 });
const kW = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const count = new Intl.NumberFormat('en');
const time = new Intl.DateTimeFormat('en', {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const dateTime = new Intl.DateTimeFormat('en', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

export const formatTime = (ms: number) => time.format(ms);
const energy = (wh: number) => `${kWh.format(wh / 1000)} kWh`;
const power = (w: number) => `${kW.format(w / 1000)} kW`;

export const sectionStyles = css`
  .piles {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
    gap: 12px;
  }
  .pile ul {
    list-style: none;
    margin: 0;
    padding: 0;
    display: grid;
    gap: 6px;
  }
  .pile li {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 2px 10px;
    padding: 6px 10px;
    border-radius: 8px;
    background: var(--panel-2);
  }
  .pile .label {
    white-space: nowrap;
  }
  .state {
    font-weight: 650;
    text-align: right;
  }
  .pile .detail {
    grid-column: 1 / -1;
    font-size: 14px;
  }
  .refusals {
    margin-top: 8px;
    font-size: 14px;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    text-align: left;
    padding: 6px 10px;
    border-bottom: 1px solid var(--line);
  }
  th {
    color: var(--muted);
    font-weight: 600;
  }
  td.num,
  th.num {
    text-align: right;
  }
  .mono {
    font-family: var(--mono);
    font-size: 14px;
  }
`;

function connectorRow(pid: string, c: OperatorConnector): TemplateResult {
  const detail =
    c.state === 'charging' && c.w !== undefined
      ? `${power(c.w)} of ${power(c.maxW)}`
      : c.plugged === undefined
        ? `max ${power(c.maxW)}`
        : `${c.plugged ? 'cable plugged' : 'no cable'} · max ${power(c.maxW)}`;
  return html`<li data-pile=${pid} data-connector=${c.id} data-state=${c.state}>
    <span class="label">Connector ${c.id}</span>
    <span class="state state-${c.state}">${c.state}</span>
    <span class="muted detail">${detail}</span>
  </li>`;
}

function refusalsOf(refused: Record<string, number>): TemplateResult | typeof nothing {
  const entries = Object.entries(refused);
  if (entries.length === 0) return nothing;
  return html`<div class="refusals muted">
    Refused: ${entries.map(([code, n]) => `${code} ${count.format(n)}`).join(', ')}
  </div>`;
}

function pileCard(pile: OperatorPile): TemplateResult {
  return html`<article class="panel pile" data-pile=${pile.pid} aria-label="Pile ${pile.pid}">
    <h3>${pile.pid}</h3>
    <ul>
      ${pile.connectors.map((c) => connectorRow(pile.pid, c))}
    </ul>
    ${refusalsOf(pile.refused)}
  </article>`;
}

export function pilesSection(view: OperatorView): TemplateResult {
  const more = view.pilesTotal - view.piles.length;
  return html`<section aria-labelledby="piles-h">
    <h2 id="piles-h">Piles (${count.format(view.pilesTotal)})</h2>
    <div class="piles">${view.piles.map(pileCard)}</div>
    ${more > 0 ? html`<p class="muted">and ${count.format(more)} more piles not shown</p>` : nothing}
  </section>`;
}

function sessionRow(s: OperatorSession): TemplateResult {
  return html`<tr data-sid=${s.sid} data-pile=${s.pid} data-connector=${s.connector}>
    <td>${s.pid} / ${s.connector}</td>
    <td class="mono">${s.vid}</td>
    <td>${dateTime.format(s.startedAt)}</td>
    <td class="num energy">${energy(s.wh)}</td>
    <td class="num">${power(s.w)}</td>
    <td class="num">${s.cost} ${s.currency}</td>
    <td>${formatTime(s.lastMeterAt)}</td>
  </tr>`;
}

export function sessionsSection(view: OperatorView): TemplateResult {
  return html`<section aria-labelledby="sessions-h" class="panel">
    <h2 id="sessions-h">Open sessions (${count.format(view.sessionsTotal)})</h2>
    ${
      view.sessions.length === 0
        ? html`<p class="muted">No session is open.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>Pile / connector</th><th>Vehicle</th><th>Started</th><th class="num">Energy</th>
                <th class="num">Power</th><th class="num">Cost</th><th>Last signed reading</th>
              </tr>
            </thead>
            <tbody>${view.sessions.map(sessionRow)}</tbody>
          </table>`
    }
  </section>`;
}

export function refusedSection(view: OperatorView): TemplateResult {
  const entries = Object.entries(view.refused).sort(([, a], [, b]) => b - a);
  return html`<section aria-labelledby="refused-h" class="panel">
    <h2 id="refused-h">Refused requests</h2>
    ${
      entries.length === 0
        ? html`<p class="muted">None since the gateway started.</p>`
        : html`<table>
            <thead><tr><th>Code</th><th class="num">Count</th></tr></thead>
            <tbody>
              ${entries.map(
                ([code, n]) =>
                  html`<tr data-code=${code}><td class="mono">${code}</td><td class="num">${count.format(n)}</td></tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function receiptRow(r: OperatorReceipt): TemplateResult {
  return html`<tr data-sid=${r.sid}>
    <td>${dateTime.format(r.endedAt)}</td>
    <td>${r.pid} / ${r.connector}</td>
    <td class="mono">${r.vid}</td>
    <td>${r.reason}</td>
    <td class="num">${energy(r.wh)}</td>
    <td class="num">${r.cost} ${r.currency}</td>
  </tr>`;
}

export function receiptsSection(view: OperatorView): TemplateResult {
  return html`<section aria-labelledby="receipts-h" class="panel">
    <h2 id="receipts-h">Last receipts</h2>
    ${
      view.receipts.length === 0
        ? html`<p class="muted">No session has ended yet.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>Ended</th><th>Pile / connector</th><th>Vehicle</th><th>Reason</th>
                <th class="num">Energy</th><th class="num">Cost</th>
              </tr>
            </thead>
            <tbody>${view.receipts.map(receiptRow)}</tbody>
          </table>`
    }
  </section>`;
}
