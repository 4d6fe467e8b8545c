/**
 * <operator-app>: the gateway's read-only operator page. It asks once for the operator token (or takes
 * `?token=`), then reads the view every 2 s (one request at a time) and draws it; a refused token shows why
 * and asks again.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import {
  formatTime,
  pilesSection,
  receiptsSection,
  refusedSection,
  sectionStyles,
  sessionsSection,
} from './sections.js';
import { forgetToken, keepToken, takeToken } from './session-token.js';
import { theme } from './theme.js';
import type { OperatorView } from './view.js';
import { fetchView } from './view-client.js';

const POLL_MS = 2000;

@customElement('operator-app')
export class OperatorApp extends LitElement {
  static override styles = [
    theme,
    sectionStyles,
    css`
      :host {
        min-height: 100vh;
        background: var(--bg);
        padding: 20px;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 8px 20px;
        margin-bottom: 16px;
      }
      header h1 {
        margin: 0;
      }
      main {
        display: grid;
        gap: 16px;
      }
      .mqtt-connected {
        color: var(--ok);
      }
      .mqtt-disconnected {
        color: var(--bad);
      }
      .problem {
        border-color: var(--bad);
      }
      .problem strong {
        color: var(--bad);
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 10px;
        align-items: center;
        margin-top: 12px;
      }
      input {
        min-width: min(28em, 100%);
      }
      .stale {
        opacity: 0.6;
      }
    `,
  ];

  @state() private token: string | undefined;
  @state() private view: OperatorView | undefined;
  @state() private problem: { status: number; message: string } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private polling: AbortController | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.token = takeToken();
    if (this.token) this.poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.polling?.abort();
    this.polling = undefined;
  }

  private async poll(): Promise<void> {
    const token = this.token;
    if (!token) return;
    this.stop();
    const polling = new AbortController();
    this.polling = polling;
    const answer = await fetchView(token, polling.signal);
    if (polling.signal.aborted) return;
    if (answer.ok) {
      this.view = answer.view;
      this.problem = undefined;
    } else {
      this.problem = { status: answer.status, message: answer.message };
      if (answer.status === 401 || answer.status === 403) {
        // A refused token is not tried again every 2 s: the technician enters it anew.
        forgetToken();
        this.token = undefined;
        this.view = undefined;
        return;
      }
    }
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }

  private submit(event: SubmitEvent): void {
    event.preventDefault();
    const input = (event.target as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (!token) return;
    keepToken(token);
    this.token = token;
    this.problem = undefined;
    void this.poll();
  }

  private problemMessage() {
    const p = this.problem;
    if (!p) return nothing;
    const title =
      p.status === 401
        ? 'The gateway refused the token (401 Unauthorized).'
        : p.status === 403
          ? 'The gateway refused the request (403 Forbidden).'
          : p.status === 0
            ? 'The gateway does not answer; retrying.'
            : `The gateway answered ${p.status}.`;
    return html`<div class="panel problem" role="alert">
      <strong>${title}</strong>
      <p class="muted">${p.message}</p>
    </div>`;
  }

  private tokenForm() {
    return html`<section class="panel" aria-labelledby="token-h">
      <h2 id="token-h">Operator token</h2>
      <p class="muted">
        Enter the gateway's operator token: <code>http.token</code> in its <code>config.json</code>. It is kept in
        this tab only.
      </p>
      <form @submit=${this.submit}>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required />
        <button class="primary" type="submit">Open</button>
      </form>
    </section>`;
  }

  override render() {
    const view = this.view;
    return html`<header>
        <h1>evauth gateway ${view?.gid ?? ''}</h1>
        ${
          view
            ? html`<span class="mqtt-${view.mqtt}">MQTT ${view.mqtt}</span>
                <span class="muted">updated ${formatTime(view.at)}</span>`
            : nothing
        }
      </header>
      <main>
        ${this.problemMessage()} ${this.token ? nothing : this.tokenForm()}
        ${
          view
            ? html`<div class=${this.problem ? 'stale' : ''}>
                ${pilesSection(view)}
              </div>
              ${sessionsSection(view)} ${refusedSection(view)} ${receiptsSection(view)}`
            : this.token && !this.problem
              ? html`<p class="muted">Loading…</p>`
              : nothing
        }
      </main>`;
  }
}
