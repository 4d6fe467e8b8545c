/**
 * <settings-view>: language, auto-accept of offers, pairing by pasted provisioning code, and (under npm start
 * only) the demo vehicle picker.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { VehicleProvisioning } from '../../shared/index.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { localeState } from '../i18n/locale.js';
import { type DemoVehicle, parseProvisioningCode } from '../state/identity.js';
import { theme } from './theme.js';

@customElement('settings-view')
export class SettingsView extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(420px, 1fr));
        gap: 20px;
        align-items: start;
      }
      label.toggle {
        display: flex;
        align-items: center;
        gap: 14px;
        min-height: 48px;
      }
      input[type='checkbox'] {
        width: 32px;
        height: 32px;
      }
      textarea {
        width: 100%;
        min-height: 120px;
        background: var(--bg);
        color: var(--text);
        border: 1px solid var(--line);
        border-radius: 10px;
        padding: 10px;
        font: 14px var(--mono);
      }
      .row {
        display: flex;
        gap: 12px;
        flex-wrap: wrap;
        margin-top: 12px;
      }
      .error {
        color: var(--bad);
      }
      .ok {
        color: var(--ok);
      }
    `,
  ];

  @property({ type: Boolean }) autoAccept = false;
  @property() vid = '';
  @property({ attribute: false }) demoVehicles: DemoVehicle[] = [];
  @state() private pairMessage?: { ok: boolean; text: string };
  private readonly i18n = new LocaleController(this);

  private fire(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private pair() {
    const area = this.renderRoot.querySelector('textarea');
    const parsed = parseProvisioningCode(area?.value ?? '');
    if (!parsed.ok) {
      this.pairMessage = { ok: false, text: this.i18n.t('settings.pairError', { reason: parsed.message }) };
      return;
    }
    this.pairMessage = { ok: true, text: this.i18n.t('settings.paired', { vid: parsed.value.vid }) };
    if (area) area.value = '';
    this.usePairing(parsed.value);
  }

  private usePairing(provisioning: VehicleProvisioning) {
    this.fire('pair-vehicle', { provisioning });
  }

  override render() {
    const t = this.i18n.t.bind(this.i18n);
    return html`<section class="panel">
        <h1>${t('settings.title')}</h1>
        <div class="row" role="group" aria-label=${t('lang.label')}>
          <button lang="en" aria-pressed=${this.i18n.locale === 'en'} @click=${() => localeState.set('en')}>English</button>
          <button lang="zh-CN" aria-pressed=${this.i18n.locale === 'zh'} @click=${() => localeState.set('zh')}>中文</button>
        </div>
        <label class="toggle">
          <input type="checkbox" .checked=${this.autoAccept}
            @change=${(e: Event) => this.fire('auto-accept', { value: (e.target as HTMLInputElement).checked })} />
          ${t('settings.autoAccept')}
        </label>
        ${
          this.vid
            ? html`<p>${t('identity.vehicle', { vid: this.vid })}</p>
          <button @click=${() => this.fire('unpair-vehicle')}>${t('settings.unpair')}</button>`
            : null
        }
      </section>
      <section class="panel">
        <h2>${t('settings.pair')}</h2>
        <p class="muted" id="pair-hint">${t('settings.pairHint')}</p>
        <textarea aria-label=${t('settings.pair')} aria-describedby="pair-hint" spellcheck="false"></textarea>
        <div class="row"><button class="primary" @click=${() => this.pair()}>${t('settings.pairButton')}</button></div>
        ${this.pairMessage ? html`<p class=${this.pairMessage.ok ? 'ok' : 'error'} role="status">${this.pairMessage.text}</p>` : null}
      </section>
      ${
        this.demoVehicles.length
          ? html`<section class="panel" aria-labelledby="demo-title">
            <h2 id="demo-title">${t('settings.devPicker')}</h2>
            <div class="row">
              ${this.demoVehicles.map(
                (v) => html`<button data-vid=${v.vid} aria-pressed=${v.vid === this.vid}
                  @click=${() => this.usePairing(v.provisioning)}>${t('settings.useVehicle', { vid: v.vid })}</button>`,
              )}
            </div>
          </section>`
          : null
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'settings-view': SettingsView;
  }
}
