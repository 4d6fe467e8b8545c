/**
 * The charging sessions of one pile: started through SessionStarts (the durable record, the charger, the commit
 * of auth.result), then the signed readings, the vehicle's stop and the receipt. A stop waits for the charger's
 * final reading where the charger confirms it (OCPP).
 */
import type { Logger } from 'pino';
import {
  type AuthorizedSession,
  type PileAuthenticator,
  PileSession,
  type SessionStop,
  topics,
  unixSeconds,
} from '../shared/index.js';
import type { ActiveSession, EndReason, Publish } from './active-session.js';
import {
  type ChargerController,
  type ChargerEvent,
  type ChargerReading,
  storedChargerReadings,
} from './charger.js';
import type { GatewayMetrics } from './metrics.js';
import { storedOcmfReadings, withDueReading } from './ocmf-readings.js';
import { SessionStarts } from './session-start.js';
import type { PileReceipts, SignedSessionEnd } from './signed-receipts.js';
import type { SessionRecord, SessionStore } from './store.js';
import type { PileVehicleSessions } from './vehicle-sessions.js';

export type { ActiveSession, EndReason, Publish } from './active-session.js';

export interface ChargingSessionsOptions {
  pid: string;
  store: SessionStore;
  publish: Publish;
  now: () => number;
  meterIntervalMs: number;
  /** a signed reading this often goes into the OCMF record as TX T (config ocmfReadingIntervalMs); absent: none */
  ocmfReadingIntervalMs?: number;
  metrics: GatewayMetrics;
  log: Logger;
  authenticator: Pick<PileAuthenticator, 'commit' | 'abandon' | 'release'>;
  /** signs each session.end (MAC and OCMF) */
  receipts: PileReceipts;
  vehicleSessions: PileVehicleSessions;
  publishStatus(): void;
}

export class ChargingSessions {
  private readonly options: ChargingSessionsOptions;
  private readonly sessions = new Map<string, ActiveSession>();
  private readonly starts: SessionStarts;

  constructor(options: ChargingSessionsOptions) {
    this.options = options;
    this.starts = new SessionStarts({ ...options, started: (active) => this.activate(active) });
  }

  get count(): number {
    return this.sessions.size;
  }

  /** The records of the running sessions, with their last signed reading. */
  records(): SessionRecord[] {
    return [...this.sessions.values()].map((s) => s.record);
  }

  sessionOn(connector: number): ActiveSession | undefined {
    for (const s of this.sessions.values()) if (s.record.connector === connector) return s;
    return undefined;
  }

  /** What a charger reports: a pushed reading is signed at once, an end closes the session. */
  onChargerEvent(connector: number, event: ChargerEvent): void {
    const active = this.sessionOn(connector);
    if (!active) return;
    // The car is gone: a charger that tells its cable state (plug first) ends the session once the cable is out,
    // whether or not the vehicle sent a stop (faults and the charger's own ends keep their reasons below).
    const report = event.kind === 'status' || event.kind === 'meter';
    if (report && active.charger.plugged === false && !active.ending) {
      this.endSession(active, 'unplugged');
      return;
    }
    if (event.kind === 'meter') {
      if (this.options.now() - active.lastSignedAt >= this.options.meterIntervalMs / 4) this.meter(active);
      // Not signed yet, but what a restart needs (the transaction's start) is stored as soon as it is known.
      else this.recordChargerState(active);
    } else if (event.kind === 'ended') this.endSession(active, event.reason);
    else if (event.kind === 'unplugged') this.endSession(active, 'unplugged');
    else if (event.kind === 'faulted') this.endSession(active, 'fault');
  }

  /** Opens the session of a handshake that succeeded (see SessionStarts: its auth.result goes out on commit). */
  start(auth: AuthorizedSession, charger: ChargerController | undefined, requestedAt?: number): void {
    this.starts.start(auth, charger, requestedAt);
  }

  /**
   * Takes back a session a previous run left open, where its charger can (an OCPP station's transaction outlives
   * the gateway): it runs on with its stored signing state, readings and stop. False: the recovery closes it.
   */
  resume(record: SessionRecord, charger: ChargerController | undefined): boolean {
    if (!charger?.resume || record.chargerBinding === null) return false;
    const stored = storedChargerReadings(record.chargerSigned);
    if (!stored)
      this.options.log.warn({ sid: record.sid }, 'charger-signed readings on record are unreadable');
    const signed = stored ?? [];
    if (!charger.resume(record.sid, record.chargerBinding, signed)) return false;
    const active: ActiveSession = {
      record,
      signer: new PileSession({
        sid: record.sid,
        sk: record.sk,
        meterSeq: record.meterSeq,
        stopSeq: record.stopSeq,
      }),
      charger,
      lastSignedAt: this.options.now(),
      chargerSigned: signed.length,
      chargerBinding: record.chargerBinding,
    };
    active.timer = setInterval(() => this.meter(active), this.options.meterIntervalMs);
    this.sessions.set(record.sid, active);
    this.options.metrics.activeSessions.inc();
    this.options.log.warn(
      { sid: record.sid, vid: record.vid, connector: record.connector, wh: record.lastWh },
      'resumed a session left open by a restart',
    );
    return true;
  }

  /** The session runs: readings every meterIntervalMs, counted and logged off the handshake's path. */
  private activate(active: ActiveSession): void {
    const auth = active.record;
    active.timer = setInterval(() => this.meter(active), this.options.meterIntervalMs);
    this.sessions.set(auth.sid, active);
    const started = active.requestedAt;
    // auth.result is written when this message's handling ends (mqtt.js uncorks on the next tick); the
    // bookkeeping, the log line, the first reading and the status come after it, off the handshake's path.
    queueMicrotask(() => {
      const m = this.options.metrics;
      m.handshakes.inc({ outcome: 'authorized', code: 'OK' });
      if (started !== undefined) m.handshakeLatency.observe((this.options.now() - started) / 1000);
      m.activeSessions.inc();
      this.options.log.info(
        { sid: auth.sid, vid: auth.vid, connector: auth.connector },
        'session authorized',
      );
      if (this.sessions.has(auth.sid)) this.meter(active);
      this.options.publishStatus();
    });
  }

  private meter(active: ActiveSession): void {
    try {
      const reading = active.charger.read();
      const wh = Math.max(reading.wh, active.record.lastWh);
      const at = this.options.now();
      const message = active.signer.signMeter({
        ts: unixSeconds(at),
        wh,
        w: reading.w,
        state: reading.state,
      });
      // Due as an OCMF intermediate reading: stored with the reading, in the same statement.
      active.ocmfReadings ??= storedOcmfReadings(active.record.ocmfReadings);
      const ocmfReadings = withDueReading(
        active.ocmfReadings,
        this.options.ocmfReadingIntervalMs,
        active.record.startedAt,
        { atMs: at, wh },
      );
      const ocmfJson = ocmfReadings && JSON.stringify(ocmfReadings);
      this.options.store.recordMeter(active.record.sid, message.seq, wh, reading.w, at, ocmfJson);
      if (ocmfReadings) {
        active.ocmfReadings = ocmfReadings;
        active.record.ocmfReadings = ocmfJson!;
      }
      active.lastSignedAt = at;
      this.recordChargerState(active);
      const powerChanged = active.record.lastW !== reading.w;
      active.record.meterSeq = message.seq;
      active.record.lastWh = wh;
      active.record.lastW = reading.w;
      active.record.lastMeterAt = at;
      this.options.publish(topics.vehicleSession(active.record.vid), JSON.stringify(message));
      // The retained status carries the present power; refresh it when that changes (ramp, cap).
      if (powerChanged) this.options.publishStatus();
      this.options.metrics.metersSent.inc();
      if (active.record.maxWh !== null && wh >= active.record.maxWh) this.endSession(active, 'energy-cap');
    } catch (error) {
      this.options.log.error({ err: error, sid: active.record.sid }, 'meter reading failed');
    }
  }

  /** Keeps the charger's binding and its own signed readings (unchanged) on the session record as they come. */
  private recordChargerState(active: ActiveSession): void {
    const binding = active.charger.binding?.();
    if (binding !== undefined && binding !== active.chargerBinding) {
      this.options.store.recordChargerBinding(active.record.sid, binding);
      active.chargerBinding = binding;
    }
    const signed = active.charger.signedReadings?.();
    if (!signed || signed.length === active.chargerSigned) return;
    this.options.store.recordChargerSigned(active.record.sid, JSON.stringify(signed));
    active.chargerSigned = signed.length;
  }

  /** A session.stop from the vehicle (PROTOCOL §8). */
  stop(stop: SessionStop): void {
    const active = this.sessions.get(stop.sid);
    if (!active) {
      this.resendReceipt(stop);
      return;
    }
    // The charger is confirming an earlier stop; the vehicle's repeats change nothing.
    if (active.ending) return;
    const verified = active.signer.verifyStop(stop);
    if (!verified.ok) {
      this.options.metrics.dropped.inc({ reason: 'bad-stop' });
      this.options.log.warn({ sid: stop.sid, code: verified.code }, verified.message);
      return;
    }
    this.endSession(active, 'stopped', verified.value);
  }

  /** A stop for a session already closed (its receipt may have been lost): send the stored receipt again. */
  private resendReceipt(stop: SessionStop): void {
    const record = this.options.store.get(stop.sid);
    if (!record || record.pid !== this.options.pid || record.state !== 'closed' || !record.receipt) {
      this.options.metrics.dropped.inc({ reason: 'no-session' });
      return;
    }
    const signer = new PileSession({ sid: record.sid, sk: record.sk, meterSeq: record.meterSeq, stopSeq: 0 });
    if (!signer.verifyStop(stop).ok) {
      this.options.metrics.dropped.inc({ reason: 'bad-stop' });
      return;
    }
    this.options.publish(topics.vehicleSession(record.vid), record.receipt);
  }

  /**
   * Ends a session: the charger switches off (a real one confirms with its final reading, unless `immediate`),
   * then the receipt is signed and stored, session.end sent and the connector freed.
   */
  endSession(active: ActiveSession, reason: EndReason, stopSeq?: number, immediate = false): void {
    if (!this.sessions.has(active.record.sid) || active.ending) return;
    const reading = active.charger.read();
    const stopping = active.charger.deenergize();
    if (!(stopping instanceof Promise) || immediate) {
      this.closeSession(active, reason, reading, stopSeq, immediate);
      return;
    }
    active.ending = true;
    stopping.then(
      (final) => this.closeSession(active, reason, final, stopSeq),
      () => this.closeSession(active, reason, active.charger.read(), stopSeq),
    );
  }

  /** Signs and stores the receipt, then sends session.end and frees the connector. */
  private closeSession(
    active: ActiveSession,
    reason: EndReason,
    reading: ChargerReading,
    stopSeq?: number,
    immediate = false,
  ): void {
    active.ending = false;
    if (!this.sessions.has(active.record.sid)) return;
    const wh = Math.max(reading.wh, active.record.lastWh);
    const endedAt = this.options.now();
    const { receipts } = this.options;
    const ending = [
      active.signer,
      active.record,
      reason,
      wh,
      endedAt,
      active.charger.signedReadings?.(),
    ] as const;
    if (immediate || !receipts.signs) {
      this.finishSession(active, reason, wh, endedAt, stopSeq, receipts.sessionEnd(...ending));
      return;
    }
    // The receipt is made on the receipt-signing thread; meanwhile the session is ending (no more readings; stops
    // and cable reports wait). A shutdown that comes first ends it at once, and this receipt is dropped.
    active.ending = true;
    clearInterval(active.timer);
    void receipts.sessionEndAsync(...ending).then((end) => {
      if (!active.ending) return;
      active.ending = false;
      this.finishSession(active, reason, wh, endedAt, stopSeq, end);
    });
  }

  /** Stores the receipt, then sends session.end and frees the connector. */
  private finishSession(
    active: ActiveSession,
    reason: EndReason,
    wh: number,
    endedAt: number,
    stopSeq: number | undefined,
    { payload, page }: SignedSessionEnd,
  ): void {
    if (!this.sessions.has(active.record.sid)) return;
    try {
      this.recordChargerState(active);
      this.options.store.closeSession(active.record.sid, reason, endedAt, wh, payload, stopSeq, page);
    } catch (error) {
      // No receipt goes out that is not on record: the session stays open, the vehicle's repeated stop (or a
      // restart's recovery) closes it later.
      this.options.log.error(
        { err: error, sid: active.record.sid, reason },
        'cannot store the receipt; session stays open',
      );
      return;
    }
    this.sessions.delete(active.record.sid);
    this.options.vehicleSessions.closed(active.record.sid);
    clearInterval(active.timer);
    this.options.authenticator.release(active.record.connector);
    this.options.publish(topics.vehicleSession(active.record.vid), payload);
    this.options.metrics.activeSessions.dec();
    this.options.metrics.sessionsEnded.inc({ reason });
    this.options.log.info({ sid: active.record.sid, vid: active.record.vid, reason, wh }, 'session ended');
    this.options.publishStatus();
  }

  /** Ends every open session at once with its last reading (graceful shutdown: no waiting on chargers). */
  endAll(reason: EndReason): void {
    for (const active of [...this.sessions.values()]) {
      active.ending = false;
      this.endSession(active, reason, undefined, true);
    }
    this.starts.refuseAll(reason);
  }
}
