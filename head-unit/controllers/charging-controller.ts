/**
 * The live charging session for the UI: only MAC-verified meter values count; rejected readings are kept
 * apart and shown as such. Writes the session to the IndexedDB history as it goes and with the receipt.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MeterBody, ReceiptBody } from '../../shared/index.js';
import { type SessionRecord, saveSession } from '../state/history-store.js';
import type { ChargingEvent, ChargingSessionPort } from './vehicle-port.js';

export interface VerifiedReading {
  seq: number;
  reading: MeterBody;
  at: number;
}

export interface RejectedReading {
  code: string;
  message: string;
  at: number;
}

/** Price × energy, from the decimal price string of the offer; two decimals for display. */
export function costOf(wh: number, pricePerKWh: string): string {
  const price = Number(pricePerKWh);
  if (!Number.isFinite(price)) return '—';
  return ((wh / 1000) * price).toFixed(2);
}

/** Chart points of verified readings, timed when the vehicle received them (ms). */
export function energyPoints(verified: readonly VerifiedReading[]): { t: number; wh: number }[] {
  return verified.map((v) => ({ t: v.at, wh: v.reading.wh }));
}

export class ChargingController implements ReactiveController {
  session?: ChargingSessionPort;
  vid = '';
  pileName = '';
  startedAt = 0;
  verified: VerifiedReading[] = [];
  rejected: RejectedReading[] = [];
  receipt?: ReceiptBody;
  receiptText?: string;
  /** the pile's OCMF record of the receipt (§8a), and whether the car verified it under the pile's key */
  ocmf?: string;
  signedByCharger = false;
  stopping = false;
  /** bumps on every change, so views given this controller know to re-render */
  version = 0;
  private unsubscribe?: () => void;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  get active(): boolean {
    return this.session !== undefined && this.receipt === undefined;
  }

  get latest(): VerifiedReading | undefined {
    return this.verified[this.verified.length - 1];
  }

  get energyWh(): number {
    return this.latest?.reading.wh ?? 0;
  }

  get powerW(): number {
    return this.latest?.reading.w ?? 0;
  }

  get cost(): string {
    return this.session ? costOf(this.energyWh, this.session.offer.pricePerKWh) : '—';
  }

  durationMs(now: number): number {
    if (!this.session) return 0;
    const end = this.receipt ? this.receipt.endedAt * 1000 : now;
    const start = this.receipt ? this.receipt.startedAt * 1000 : this.startedAt;
    return Math.max(0, end - start);
  }

  attach(session: ChargingSessionPort, meta: { vid: string; pileName: string }): void {
    this.unsubscribe?.();
    this.session = session;
    this.vid = meta.vid;
    this.pileName = meta.pileName;
    this.startedAt = Date.now();
    this.verified = [];
    this.rejected = [];
    this.receipt = undefined;
    this.receiptText = undefined;
    this.ocmf = undefined;
    this.signedByCharger = false;
    this.stopping = false;
    this.unsubscribe = session.subscribe((event) => this.onEvent(event));
    void this.persist();
    this.changed();
  }

  async stop(): Promise<void> {
    if (!this.session || !this.active || this.stopping) return;
    this.stopping = true;
    this.changed();
    try {
      await this.session.stop();
    } catch {
      this.stopping = false;
      this.changed();
    }
  }

  /** Leaves the receipt screen; the record stays in the history. */
  clear(): void {
    if (this.active) return;
    this.unsubscribe?.();
    this.session = undefined;
    this.receipt = undefined;
    this.changed();
  }

  private onEvent(event: ChargingEvent): void {
    if (event.kind === 'meter') {
      this.verified = [...this.verified, { seq: event.seq, reading: event.reading, at: event.at }];
    } else if (event.kind === 'meter-rejected') {
      this.rejected = [...this.rejected, { code: event.code, message: event.message, at: event.at }];
    } else {
      this.receipt = event.receipt;
      this.receiptText = event.receiptText;
      this.ocmf = event.ocmf;
      this.signedByCharger = event.signedByCharger;
      this.stopping = false;
    }
    void this.persist();
    this.changed();
  }

  record(): SessionRecord | undefined {
    const s = this.session;
    if (!s) return undefined;
    return {
      sid: s.sid,
      vid: this.vid,
      pid: s.pid,
      pileName: this.pileName,
      connector: s.connector,
      startedAt: this.receipt ? this.receipt.startedAt * 1000 : this.startedAt,
      endedAt: this.receipt ? this.receipt.endedAt * 1000 : undefined,
      wh: this.receipt?.wh ?? this.energyWh,
      cost: this.receipt?.cost ?? this.cost,
      currency: this.receipt?.currency ?? s.offer.currency,
      reason: this.receipt?.reason,
      // the vehicle's receive time: meter ts has whole-second resolution, readings may come faster
      points: energyPoints(this.verified),
      receipt: this.receiptText,
      ocmf: this.ocmf,
      signedByCharger: this.receipt ? this.signedByCharger : undefined,
    };
  }

  private async persist(): Promise<void> {
    const record = this.record();
    if (!record) return;
    try {
      await saveSession(record);
    } catch {
      // IndexedDB unavailable (private mode): the live screen still works, only history is lost.
    }
  }

  private changed(): void {
    this.version++;
    this.host.requestUpdate();
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.unsubscribe?.();
  }
}
