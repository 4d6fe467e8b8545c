/**
 * The charger behind each connector. `ChargerController` is what a real controller implements (the OCPP
 * endpoint's `OcppCharger` in ocpp/, or CAN, Modbus); `SimulatedCharger` is the stand-in the gateway uses by
 * default: it ramps power up to the offered maximum, honours the ticket's energy cap, and can be told to plug,
 * unplug or fault.
 *
 * A controller either switches synchronously (the simulator: `energize` returns nothing) or must ask a real
 * charger and wait for its answer: then `energize` returns a promise that settles once the charger accepted or
 * refused the start, and `deenergize` one that settles with the final reading once the charger ended the
 * transaction. The pile sends auth.result only after the start was accepted, and session.end only with the
 * final reading.
 */

/** Why a charger ended a session on its own (the receipt's reason). */
export type ChargerEndReason =
  | 'stopped'
  | 'unplugged'
  | 'fault'
  | 'energy-cap'
  | 'charger-offline'
  | 'charger-stopped';

export type ChargerEvent =
  | { kind: 'unplugged' }
  | { kind: 'faulted'; message: string }
  | { kind: 'cleared' }
  /** plugged, online, availability changed: the status needs publishing */
  | { kind: 'status' }
  /** the charger pushed a new reading: sign it now rather than at the next interval */
  | { kind: 'meter' }
  /** the charger ended the session's transaction itself (local stop, EV left, offline past the grace) */
  | { kind: 'ended'; reason: ChargerEndReason };

export interface ChargerReading {
  /** energy delivered since energize(), Wh */
  wh: number;
  /** present power, W */
  w: number;
  state: 'charging' | 'suspended' | 'finishing' | 'faulted';
}

/** A reading the charger's own meter signed (OCPP signedMeterValue), kept unchanged for the receipt. */
export interface ChargerSignedReading {
  /** when the charger took it (ISO 8601, as it sent it) */
  timestamp: string;
  /** e.g. Transaction.Begin, Transaction.End, Sample.Periodic */
  context?: string;
  signedMeterData: string;
  signingMethod?: string;
  encodingMethod?: string;
  publicKey?: string;
}

/**
 * The charger's signed readings kept on a session record (the JSON array recordChargerSigned stored): none for
 * none, undefined when the record's text is not such an array (damaged).
 */
export function storedChargerReadings(json: string | null): ChargerSignedReading[] | undefined {
  if (json === null) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? (value as ChargerSignedReading[]) : undefined;
  } catch {
    return undefined;
  }
}

export interface EnergizeRequest {
  maxW: number;
  maxWh?: number;
  startWh?: number;
  /** the evauth session and its ticket id: a charger that needs an authorisation token derives it from tid */
  sid?: string;
  tid?: string;
}

/** Why a charger did not start; the pile answers the vehicle with a MACed error accordingly. */
export class ChargerStartError extends Error {
  override readonly name = 'ChargerStartError';
  constructor(
    readonly code: 'REJECTED' | 'TIMEOUT' | 'OFFLINE',
    message: string,
  ) {
    super(message);
  }
}

export interface ChargerController {
  /** Whether a vehicle can start here now (not faulted, not already energised, a cable plugged in if known). */
  readonly available: boolean;
  readonly faulted: boolean;
  /** Whether a cable is plugged in; undefined where the charger cannot tell. */
  readonly plugged?: boolean;
  /** False while the charger cannot be reached (an OCPP station that is disconnected). */
  readonly online?: boolean;
  /**
   * Switches the connector on for one session, never above maxW, stopping at maxWh if given. A promise means the
   * charger must confirm: it resolves once the start is accepted and rejects with a ChargerStartError.
   */
  energize(limits: EnergizeRequest): void | Promise<void>;
  /** Switches the connector off; a promise resolves with the final reading once the charger confirms. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a synchronous controller (the simulator) returns nothing
  deenergize(): void | Promise<ChargerReading>;
  /** The meter now. */
  read(): ChargerReading;
  /** The readings the charger's own meter signed during the present session (unchanged), if any. */
  signedReadings?(): readonly ChargerSignedReading[];
  /**
   * How the charger runs the present session, as text the gateway stores with the session record (an OCPP
   * station's transaction id and start register); undefined until it is known. With `resume`, a charger whose
   * sessions outlive the gateway process lets a restarted gateway take them back instead of ending them.
   */
  binding?(): string | undefined;
  /**
   * Takes back a session a previous run of the gateway left open, from its stored binding and the charger-signed
   * readings already on record; false if it cannot (the gateway then ends the session with its last reading).
   */
  resume?(sid: string, binding: string, signed: readonly ChargerSignedReading[]): boolean;
  /** Events the gateway must act on (cable pulled, fault raised or cleared). Returns an unsubscribe. */
  onEvent(listener: (event: ChargerEvent) => void): () => void;
}

/** The listeners of one charger's events (every controller has them). */
export class ChargerEvents {
  private readonly listeners = new Set<(event: ChargerEvent) => void>();

  /** Adds a listener; returns its removal (ChargerController.onEvent). */
  listen(listener: (event: ChargerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ChargerEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}

export interface SimulatedChargerOptions {
  /** ms to ramp from 0 to maxW */
  rampMs: number;
  now: () => number;
  /** whether a cable is plugged in at the start (default true: a car stands at every simulated connector) */
  plugged?: boolean;
}

export class SimulatedCharger implements ChargerController {
  private readonly rampMs: number;
  private readonly now: () => number;
  private readonly events = new ChargerEvents();
  private energized = false;
  private isFaulted = false;
  private isPlugged: boolean;
  private maxW = 0;
  private maxWh: number | undefined;
  /** energy integrated up to lastAt */
  private wh = 0;
  private startedAt = 0;
  private lastAt = 0;

  constructor(options: SimulatedChargerOptions) {
    this.rampMs = options.rampMs;
    this.now = options.now;
    this.isPlugged = options.plugged ?? true;
  }

  get available(): boolean {
    return !this.energized && !this.isFaulted && this.isPlugged;
  }

  get plugged(): boolean {
    return this.isPlugged;
  }

  get faulted(): boolean {
    return this.isFaulted;
  }

  energize(limits: EnergizeRequest): void {
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
    return this.events.listen(listener);
  }

  /** A driver plugs a cable in: the connector can be authorised. */
  plug(): void {
    if (this.isPlugged) return;
    this.isPlugged = true;
    this.events.emit({ kind: 'status' });
  }

  /** The driver pulls the cable. */
  unplug(): void {
    this.deenergize();
    this.isPlugged = false;
    this.events.emit({ kind: 'unplugged' });
  }

  /** The charger raises a fault; it stays unavailable until cleared. */
  fault(message = 'simulated fault'): void {
    this.advance();
    this.isFaulted = true;
    this.energized = false;
    this.events.emit({ kind: 'faulted', message });
  }

  clear(): void {
    this.isFaulted = false;
    this.events.emit({ kind: 'cleared' });
  }
}
