/** <auth-stepper>: the handshake's steps (credential, request sent, pile verified, offer, authorised) with times. */
import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { HandshakePhase } from '../controllers/handshake-controller.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { AuthStep } from '../controllers/vehicle-port.js';
import { theme } from './theme.js';

export const STEPS: readonly AuthStep[] = ['credential', 'requested', 'verified', 'offered', 'authorized'];

@customElement('auth-stepper')
export class AuthStepper extends LitElement {
  static override styles = [
    theme,
    css`
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 6px;
      }
      li {
        display: grid;
        grid-template-columns: 36px 1fr auto;
        align-items: center;
        gap: 12px;
        min-height: 48px;
        padding: 0 8px;
        border-radius: 10px;
      }
      .mark {
        width: 30px;
        height: 30px;
        border-radius: 50%;
        border: 2px solid var(--line);
        display: grid;
        place-items: center;
        font-weight: 700;
      }
      .done .mark {
        background: var(--ok);
        border-color: var(--ok);
        color: #03170b;
      }
      .current {
        background: var(--panel-2);
      }
      .current .mark {
        border-color: var(--accent);
      }
      .failed .mark {
        background: var(--bad);
        border-color: var(--bad);
        color: #1a0405;
      }
      .time {
        font-variant-numeric: tabular-nums;
        color: var(--muted);
      }
    `,
  ];

  @property({ attribute: false }) steps: Partial<Record<AuthStep, number>> = {};
  @property({ type: Number }) startedAt = 0;
  @property() phase: HandshakePhase = 'idle';
  private readonly i18n = new LocaleController(this);

  override render() {
    const firstOpen = STEPS.findIndex((s) => this.steps[s] === undefined);
    return html`<ol aria-label=${this.i18n.t('step.label')}>
      ${STEPS.map((step, i) => {
        const at = this.steps[step];
        let status = at !== undefined ? 'done' : i === firstOpen ? 'current' : 'pending';
        if (status === 'current' && this.phase === 'failed') status = 'failed';
        const mark = status === 'done' ? '✓' : status === 'failed' ? '✕' : String(i + 1);
        return html`<li class=${status} data-step=${step} data-status=${status} aria-current=${status === 'current' ? 'step' : 'false'}>
          <span class="mark" aria-hidden="true">${mark}</span>
          <span>${this.i18n.t(`step.${step}`)}</span>
          <span class="time">${at !== undefined ? `+${Math.max(0, at - this.startedAt)} ms` : ''}</span>
        </li>`;
      })}
    </ol>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'auth-stepper': AuthStepper;
  }
}
