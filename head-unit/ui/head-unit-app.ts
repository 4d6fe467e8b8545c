/**
 * <head-unit-app>: the driver's app. Owns the vehicle port, the handshake and the charging session, and
 * switches between chargers, one charger, charging, history and settings.
 */
import { css, html, LitElement } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { VehicleProvisioning } from '../../shared/index.js';
import { ChargingController } from '../controllers/charging-controller.js';
import { ClockController } from '../controllers/clock-controller.js';
import { HandshakeController } from '../controllers/handshake-controller.js';
import { LocaleController } from '../controllers/locale-controller.js';
import { RotaryController } from '../controllers/rotary-controller.js';
import { VehicleController } from '../controllers/vehicle-controller.js';
import type { VehiclePort } from '../controllers/vehicle-port.js';
import type { MessageKey } from '../i18n/en.js';
import { localeState } from '../i18n/locale.js';
import {
  type DemoVehicle,
  fetchBuildTimeProvisioning,
  fetchDemoVehicles,
  forgetPairedVehicle,
  loadPairedVehicle,
  savePairedVehicle,
} from '../state/identity.js';
import './charging-view.js';
import './connection-indicator.js';
import { icons } from './icons.js';
import './pile-detail.js';
import './pile-list.js';
import { pileName } from './pile-summary.js';
import './session-history.js';
import './settings-view.js';
import { theme } from './theme.js';

declare const __EVAUTH_PROVISIONING_URL__: string;

type View = 'piles' | 'pile' | 'charging' | 'history' | 'settings';

const NAV: { view: View; label: MessageKey; icon: keyof typeof icons }[] = [
  { view: 'piles', label: 'nav.piles', icon: 'bolt' },
  { view: 'charging', label: 'nav.charging', icon: 'battery' },
  { view: 'history', label: 'nav.history', icon: 'history' },
  { view: 'settings', label: 'nav.settings', icon: 'settings' },
];

@customElement('head-unit-app')
export class HeadUnitApp extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: grid;
        grid-template-columns: 120px 1fr;
        grid-template-rows: 72px 1fr;
        height: 100vh;
        background: var(--bg);
      }
      header {
        grid-column: 1 / 3;
        display: flex;
        align-items: center;
        gap: 24px;
        padding: 0 24px;
        border-bottom: 1px solid var(--line);
        background: var(--panel);
      }
      header .brand {
        font-size: 24px;
        font-weight: 750;
        letter-spacing: 0.5px;
      }
      header .vehicle {
        color: var(--muted);
      }
      header .spacer {
        flex: 1;
      }
      nav {
        display: flex;
        flex-direction: column;
        gap: 8px;
        padding: 12px 10px;
        border-right: 1px solid var(--line);
        background: var(--panel);
      }
      nav button {
        display: grid;
        justify-items: center;
        gap: 4px;
        padding: 10px 4px;
        min-height: 84px;
        font-size: 15px;
        background: transparent;
        border-color: transparent;
      }
      nav button .icon {
        display: grid;
        place-items: center;
      }
      nav button[aria-current='page'] {
        background: var(--panel-2);
        border-color: var(--accent);
        color: var(--accent);
      }
      main {
        overflow: auto;
        padding: 24px;
      }
      .notice {
        margin-bottom: 16px;
      }
    `,
  ];

  @state() private view: View = 'piles';
  @state() private selectedPid?: string;
  @state() private demoVehicles: DemoVehicle[] = [];
  @state() private autoAccept = localStorage.getItem('evauth.autoAccept') === '1';
  @state() private requesting = new Set<string>();
  @state() private denied = new Map<string, string>();
  @state() private historyRevision = 0;
  @state() private identityLoaded = false;

  private readonly i18n = new LocaleController(this);
  private readonly clock = new ClockController(this);
  private readonly vehicle = new VehicleController(this);
  private readonly charging = new ChargingController(this);
  private readonly handshake = new HandshakeController(this, {
    autoAccept: () => this.autoAccept,
    onAuthorized: (session, pid) => {
      const port = this.vehicle.port;
      const pile = port?.pile(pid);
      this.charging.attach(session, {
        vid: port?.provisioning.vid ?? '',
        pileName: pile ? pileName(pile) : pid,
      });
      this.handshake.reset();
      this.view = 'charging';
    },
  });

  constructor() {
    super();
    this.addController(
      new RotaryController(
        () => this.shadowRoot,
        () => this.renderRoot.querySelector('main'),
      ),
    );
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.loadIdentity();
  }

  private async loadIdentity(): Promise<void> {
    const [buildTime, demo] = await Promise.all([
      loadPairedVehicle() ? undefined : fetchBuildTimeProvisioning(__EVAUTH_PROVISIONING_URL__),
      fetchDemoVehicles(),
    ]);
    this.demoVehicles = demo;
    const identity = loadPairedVehicle() ?? buildTime;
    if (identity) await this.useIdentity(identity);
    this.identityLoaded = true;
    if (!identity) this.view = 'settings';
  }

  private async useIdentity(provisioning: VehicleProvisioning): Promise<void> {
    if (this.charging.active) return;
    this.handshake.reset();
    const { createVehiclePort } = await import('../controllers/vehicle-adapter.js');
    await this.vehicle.use(createVehiclePort(provisioning));
  }

  private get port(): VehiclePort | undefined {
    return this.vehicle.port;
  }

  private openPile(pid: string) {
    this.selectedPid = pid;
    if (this.handshake.pid !== pid && !this.handshake.busy) this.handshake.reset();
    this.view = 'pile';
  }

  private async requestCredential(pid: string) {
    const port = this.port;
    if (!port) return;
    this.requesting = new Set([...this.requesting, pid]);
    const denied = new Map(this.denied);
    denied.delete(pid);
    this.denied = denied;
    const outcome = await port.requestCredential(pid);
    const next = new Set(this.requesting);
    next.delete(pid);
    this.requesting = next;
    if (!outcome.ok) this.denied = new Map([...this.denied, [pid, outcome.code]]);
  }

  private onFailureAction(action: string) {
    const pid = this.handshake.pid;
    const connector = this.handshake.connector;
    this.handshake.reset();
    if (action === 'retry' && pid && connector && this.port) {
      void this.handshake.start(this.port, pid, connector);
    } else if (action === 'renew' && pid) {
      void this.requestCredential(pid);
    } else if (action === 'anotherPile') {
      this.view = 'piles';
    }
  }

  private setAutoAccept(value: boolean) {
    this.autoAccept = value;
    localStorage.setItem('evauth.autoAccept', value ? '1' : '0');
  }

  private renderView() {
    const port = this.port;
    const t = this.i18n.t.bind(this.i18n);
    const now = this.clock.now;
    switch (this.view) {
      case 'piles': {
        const piles = port?.piles() ?? [];
        const credentials = Object.fromEntries(piles.map((p) => [p.pid, port?.credential(p.pid)?.exp]));
        return html`<h1>${t('piles.title')}</h1>
          ${port ? null : html`<p class="notice muted">${t('identity.none')}</p>`}
          <pile-list .piles=${piles} .credentials=${credentials} .now=${now}
            @open-pile=${(e: CustomEvent<{ pid: string }>) => this.openPile(e.detail.pid)}></pile-list>`;
      }
      case 'pile': {
        const pile = this.selectedPid ? port?.pile(this.selectedPid) : undefined;
        const hs = this.handshake;
        const showHs = hs.pid === this.selectedPid;
        return html`<pile-detail
          .pile=${pile}
          .credentialExp=${this.selectedPid ? port?.credential(this.selectedPid)?.exp : undefined}
          .requesting=${this.selectedPid ? this.requesting.has(this.selectedPid) : false}
          .credentialDenied=${this.selectedPid ? this.denied.get(this.selectedPid) : undefined}
          .handshake=${showHs ? { phase: hs.phase, connector: hs.connector, steps: hs.steps, startedAt: hs.startedAt, offer: hs.offer, failure: hs.failure } : undefined}
          .now=${now}
          @back=${() => {
            this.view = 'piles';
          }}
          @request-credential=${(e: CustomEvent<{ pid: string }>) => this.requestCredential(e.detail.pid)}
          @authenticate=${(e: CustomEvent<{ pid: string; connector: number }>) =>
            port && void this.handshake.start(port, e.detail.pid, e.detail.connector)}
          @accept-offer=${() => this.handshake.accept()}
          @decline-offer=${() => this.handshake.decline()}
          @failure-action=${(e: CustomEvent<{ action: string }>) => this.onFailureAction(e.detail.action)}
        ></pile-detail>`;
      }
      case 'charging':
        return html`<charging-view .charging=${this.charging} .version=${this.charging.version} .now=${now}
          @receipt-done=${() => {
            this.charging.clear();
            this.historyRevision++;
            this.view = 'history';
          }}></charging-view>`;
      case 'history':
        return html`<session-history .vid=${port?.provisioning.vid ?? ''} .revision=${this.historyRevision + this.charging.version}></session-history>`;
      case 'settings':
        return html`<settings-view .autoAccept=${this.autoAccept} .vid=${port?.provisioning.vid ?? ''} .demoVehicles=${this.demoVehicles}
          @auto-accept=${(e: CustomEvent<{ value: boolean }>) => this.setAutoAccept(e.detail.value)}
          @pair-vehicle=${async (e: CustomEvent<{ provisioning: VehicleProvisioning }>) => {
            savePairedVehicle(e.detail.provisioning);
            await this.useIdentity(e.detail.provisioning);
            this.view = 'piles';
          }}
          @unpair-vehicle=${async () => {
            forgetPairedVehicle();
            await this.vehicle.use(undefined);
          }}></settings-view>`;
    }
  }

  override render() {
    const t = this.i18n.t.bind(this.i18n);
    const port = this.port;
    return html`<header>
        <span class="brand">${t('app.title')}</span>
        <span class="vehicle" data-vid=${port?.provisioning.vid ?? ''}>${port ? t('identity.vehicle', { vid: port.provisioning.vid }) : ''}</span>
        <span class="spacer"></span>
        ${port ? html`<connection-indicator .state=${port.connection} @reconnect=${() => port.reconnect()}></connection-indicator>` : null}
        <button data-action="switch-language" @click=${() => localeState.set(this.i18n.locale === 'en' ? 'zh' : 'en')}>
          <span lang=${this.i18n.locale === 'en' ? 'zh-CN' : 'en'}>${t('lang.switch')}</span><span class="visually-hidden"> (${t('lang.label')})</span>
        </button>
      </header>
      <nav aria-label=${t('nav.label')}>
        ${NAV.map(
          (
            n,
          ) => html`<button data-view=${n.view} aria-current=${this.view === n.view || (n.view === 'piles' && this.view === 'pile') ? 'page' : 'false'}
            @click=${() => {
              this.view = n.view;
            }}>
            <span class="icon">${icons[n.icon]}</span>${t(n.label)}</button>`,
        )}
      </nav>
      <main>${this.identityLoaded || port ? this.renderView() : null}</main>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'head-unit-app': HeadUnitApp;
  }
}
