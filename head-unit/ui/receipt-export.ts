/**
 * <receipt-export>: hands the pile's signed OCMF record (PROTOCOL §8a) to the driver, to give to anyone who
 * checks it: copy the text, download it as a `.ocmf` file, or show it as a QR code (the encoder loads only
 * when asked). A record too long for a QR code is said to be so; nothing broken is drawn.
 */
import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { LocaleController } from '../controllers/locale-controller.js';
import type { QrPlan } from './ocmf-qr.js';
import { theme } from './theme.js';

/** The largest QR code drawn (CSS px): fits beside the receipt on a 720 px high screen. */
const QR_MAX_PX = 360;
/** How long a download's object URL is kept for the browser to read it. */
const DOWNLOAD_URL_MS = 60_000;

/** A file name that says whose record it is: evauth-<pile>-<end time>-<session>.ocmf, safe on any filesystem. */
export function ocmfFileName(pid: string, endedAtMs: number | undefined, sid: string): string {
  const when =
    endedAtMs === undefined ? '' : `-${new Date(endedAtMs).toISOString().slice(0, 19).replace(/:/g, '')}`;
  return `evauth-${pid}${when}-${sid.slice(0, 8)}.ocmf`.replace(/[^A-Za-z0-9._-]/g, '_');
}

type Status = { kind: 'copied' } | { kind: 'copy-failed' } | { kind: 'downloaded'; file: string };

@customElement('receipt-export')
export class ReceiptExport extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      h3 {
        font-size: 18px;
        margin: 0 0 8px;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        gap: 10px;
      }
      [role='status'] {
        min-height: 1.4em;
        margin: 8px 0 0;
      }
      figure {
        margin: 8px 0 0;
      }
      canvas {
        display: block;
        image-rendering: pixelated;
        border-radius: 4px;
      }
    `,
  ];

  /** the OCMF text, exactly as the pile signed it */
  @property() ocmf = '';
  /** the name a download is saved under */
  @property() filename = 'receipt.ocmf';
  @state() private status?: Status;
  @state() private qrOpen = false;
  @state() private qr?: QrPlan;
  @query('canvas') private canvas?: HTMLCanvasElement;
  private readonly i18n = new LocaleController(this);

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.ocmf);
      this.status = { kind: 'copied' };
    } catch {
      // No clipboard (an insecure origin, a denied permission): the download still works.
      this.status = { kind: 'copy-failed' };
    }
  }

  private download(): void {
    const url = URL.createObjectURL(new Blob([this.ocmf], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = this.filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_MS);
    this.status = { kind: 'downloaded', file: this.filename };
  }

  private async toggleQr(): Promise<void> {
    this.qrOpen = !this.qrOpen;
    if (!this.qrOpen || this.qr) return;
    const { planQr } = await import('./ocmf-qr.js');
    this.qr = planQr(this.ocmf, QR_MAX_PX);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('ocmf')) {
      this.qr = undefined;
      this.qrOpen = false;
      this.status = undefined;
    }
  }

  protected override async updated(changed: PropertyValues): Promise<void> {
    const plan = this.qr;
    if (!(changed.has('qr') || changed.has('qrOpen')) || !this.qrOpen || !plan?.ok || !this.canvas) return;
    const { drawQr } = await import('./ocmf-qr.js');
    drawQr(this.canvas, plan);
  }

  private renderQr() {
    const t = this.i18n.t.bind(this.i18n);
    if (!this.qrOpen) return null;
    const plan = this.qr;
    if (!plan) return html`<p class="muted" data-qr="loading">${t('receipt.qrLoading')}</p>`;
    if (!plan.ok)
      return html`<p class="muted" data-qr="too-long">${t('receipt.qrTooLong', { n: plan.length })}</p>`;
    return html`<figure>
      <canvas data-qr="code" role="img" aria-label=${t('receipt.qr')}
        style="width:${plan.sidePx}px;height:${plan.sidePx}px"></canvas>
    </figure>`;
  }

  override render() {
    if (!this.ocmf) return null;
    const t = this.i18n.t.bind(this.i18n);
    const s = this.status;
    const message =
      s?.kind === 'copied'
        ? t('receipt.copied')
        : s?.kind === 'copy-failed'
          ? t('receipt.copyFailed')
          : s?.kind === 'downloaded'
            ? t('receipt.downloaded', { file: s.file })
            : '';
    return html`<div role="group" aria-labelledby="export-title">
      <h3 id="export-title">${t('receipt.export')}</h3>
      <div class="actions">
        <button data-export="copy" @click=${() => this.copy()}>${t('receipt.copy')}</button>
        <button data-export="download" @click=${() => this.download()}>${t('receipt.download')}</button>
        <button data-export="qr" aria-expanded=${this.qrOpen ? 'true' : 'false'} @click=${() => this.toggleQr()}>
          ${this.qrOpen ? t('receipt.hideQr') : t('receipt.showQr')}</button>
      </div>
      <p role="status" class="muted" data-export-status=${s?.kind ?? ''}>${message}</p>
      ${this.renderQr()}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'receipt-export': ReceiptExport;
  }
}
