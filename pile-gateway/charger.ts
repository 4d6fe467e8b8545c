/**
 * The charger behind each connector. `ChargerController` is what a real controller (OCPP bridge, CAN, Modbus)
 * implements; `SimulatedCharger` is the stand-in the gateway uses by default: it ramps power up to the
 * offered maximum, honours the ticket's energy cap, and can be told to unplug or fault.
 */

export type ChargerEvent = { kind: 'unplugged' } | { kind: 'faulted'; message: string } | { kind: 'cleared' };

export interface ChargerReading {
  /** energy delivered since energize(), Wh */
  wh: number;
  /** present power, W */
  w: number;
  state: 'charging' | 'suspended' | 'finishing' | 'faulted';
}

export interface ChargerController {
  /** Whether a vehicle can start here now (not faulted, not already energised). */
  readonly available: boolean;
  readonly faulted: boolean;
  /** Switches the connector on for one session, never above maxW, stopping at maxWh if given. */
  energize(limits: { maxW: number; maxWh?: number; startWh?: number }): void;
  /** Switches the connector off. */
  deenergize(): void;
  /** The meter now. */
  read(): ChargerReading;
  /** Events the gateway must act on (cable pulled, fault raised or cleared). Returns an unsubscribe. */
  onEvent(listener: (event: ChargerEvent) => void): () => void;
}

export interface SimulatedChargerOptions {
  /** ms to ramp from 0 to maxW */
  rampMs: number;
  now: () => number;
}

export class SimulatedCharger implements ChargerController {
  private readonly rampMs: number;
  private readonly now: () => number;
  private readonly listeners = new Set<(event: ChargerEvent) => void>();
  private energized = false;
  private isFaulted = false;
  private maxW = 0;
  private maxWh: number | undefined;
  /** energy integrated up to lastAt */
  private wh = 0;
  private startedAt = 0;
  private lastAt = 0;

  constructor(options: SimulatedChargerOptions) {
    this.rampMs = options.rampMs;
    this.now = options.now;
  }

  get available(): boolean {
    return !this.energized && !this.isFaulted;
  }

  get faulted(): boolean {
    return this.isFaulted;
  }

  energize(limits: { maxW: number; maxWh?: number; startWh?: number }): void {
    this.energized = true;
    this.maxW = limits.maxW;
    this.maxWh = limits.maxWh;
    this.wh = limits.startWh ?? 0;
    this.startedAt = this.now();
    this.lastAt = this.startedAt;
  }

  deenergize(): void {
    this.advance();
    this.energized = false;
  }

  private powerAt(t: number): number {
    if (!this.energized || this.isFaulted) return 0;
    if (this.maxWh !== undefined && this.wh >= this.maxWh) return 0;
    if (this.rampMs <= 0) return this.maxW;
    return Math.min(this.maxW, (this.maxW * Math.max(0, t - this.startedAt)) / this.rampMs);
  }

  /** Integrates energy up to now (trapezoid over the ramp), capped at maxWh. */
  private advance(): void {
    const t = this.now();
    if (t <= this.lastAt) return;
    const avgW = (this.powerAt(this.lastAt) + this.powerAt(t)) / 2;
    this.wh += (avgW * (t - this.lastAt)) / 3_600_000;
    if (this.maxWh !== undefined && this.wh > this.maxWh) this.wh = this.maxWh;
    this.lastAt = t;
  }

  read(): ChargerReading {
    this.advance();
    const capped = this.maxWh !== undefined && this.wh >= this.maxWh;
    const w = Math.round(this.powerAt(this.now()));
    let state: ChargerReading['state'] = 'charging';
    if (this.isFaulted) state = 'faulted';
    else if (capped) state = 'finishing';
    else if (w === 0 && !this.energized) state = 'suspended';
    return { wh: Math.floor(this.wh), w, state };
  }

  onEvent(listener: (event: ChargerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ChargerEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  /** The driver pulls the cable. */
  unplug(): void {
    this.deenergize();
    this.emit({ kind: 'unplugged' });
  }

  /** The charger raises a fault; it stays unavailable until cleared. */
  fault(message = 'simulated fault'): void {
    this.advance();
    this.isFaulted = true;
    this.energized = false;
    this.emit({ kind: 'faulted', message });
  }

  clear(): void {
    this.isFaulted = false;
    this.emit({ kind: 'cleared' });
  }
}
