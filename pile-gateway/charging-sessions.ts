/**
 * The charging sessions of one pile: the durable record, the charger switched on and off, the signed readings and
 * the receipt. A session starts once its handshake succeeded; where the charger must confirm the start (OCPP),
 * its auth.result waits here until the charger accepted, and a refused or unanswered start closes the record
 * with 0 Wh and a MACed error to the vehicle. A stop likewise waits for the charger's final reading.
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
import {
  type ChargerController,
  type ChargerEndReason,
  type ChargerEvent,
  type ChargerReading,
  ChargerStartError,
} from './charger.js';
import { internalError, isResultFor, macedAuthError, signedReceipt } from './messages.js';
import type { GatewayMetrics } from './metrics.js';
import type { SessionRecord, SessionStore } from './store.js';

export type Publish = (topic: string, payload: string, options?: { retain?: boolean }) => void;

export type EndReason =
  | ChargerEndReason
  | 'start-rejected'
  | 'start-timeout'
  | 'gateway-restart'
  | 'gateway-shutdown';

export interface ActiveSession {
  record: SessionRecord;
  signer: PileSession;
  charger: ChargerController;
  timer: ReturnType<typeof setInterval>;
  /** when its auth.request arrived, for the latency histogram */
  requestedAt?: number;
  /** set while the charger confirms the stop; the session closes with its final reading */
  ending?: boolean;
  /** when the last reading was signed (pushed readings are signed at most every meterIntervalMs / 4) */
  lastSignedAt: number;
  /** how many charger-signed readings are on record */
  chargerSigned: number;
}

/** An authorised session whose charger has not yet accepted the start: its auth.result waits here. */
interface PendingStart {
  active: ActiveSession;
  resultPayload?: string;
}

export interface ChargingSessionsOptions {
  pid: string;
  store: SessionStore;
  publish: Publish;
  now: () => number;
  meterIntervalMs: number;
  metrics: GatewayMetrics;
  log: Logger;
  authenticator: Pick<PileAuthenticator, 'release' | 'withdraw'>;
  publishStatus(): void;
}

export class ChargingSessions {
  private readonly options: ChargingSessionsOptions;
  private readonly sessions = new Map<string, ActiveSession>();
  private readonly pendingStarts = new Map<string, PendingStart>();

  constructor(options: ChargingSessionsOptions) {
    this.options = options;
  }

  get count(): number {
    return this.sessions.size;
  }

  /** Whether an auth.result may be waiting for a charger (the check in withholdResult is then needed). */
  get starting(): boolean {
    return this.pendingStarts.size > 0;
  }

  sessionOn(connector: number): ActiveSession | undefined {
    for (const s of this.sessions.values()) if (s.record.connector === connector) return s;
    return undefined;
  }

  /** What a charger reports: a pushed reading is signed at once, an end closes the session. */
  onChargerEvent(connector: number, event: ChargerEvent): void {
    const active = this.sessionOn(connector);
    if (!active) return;
    if (event.kind === 'meter') {
      if (this.options.now() - active.lastSignedAt >= this.options.meterIntervalMs / 4) this.meter(active);
    } else if (event.kind === 'ended') this.endSession(active, event.reason);
    else if (event.kind === 'unplugged') this.endSession(active, 'unplugged');
    else if (event.kind === 'faulted') this.endSession(active, 'fault');
  }

  /**
   * Closes every session a previous run left open: the receipt carries the last signed meter reading and is
   * signed with the stored SK, so the vehicle can verify it; reason `gateway-restart`.
   */
  recover(open: readonly SessionRecord[]): void {
    for (const record of open) {
      if (record.pid !== this.options.pid) continue;
      const signer = new PileSession({
        sid: record.sid,
        sk: record.sk,
        meterSeq: record.meterSeq,
        stopSeq: record.stopSeq,
      });
      const endedAt = this.options.now();
      const payload = signedReceipt(signer, record, 'gateway-restart', record.lastWh, endedAt);
      this.options.store.closeSession(record.sid, 'gateway-restart', endedAt, record.lastWh, payload);
      this.options.metrics.sessionsEnded.inc({ reason: 'gateway-restart' });
      this.options.log.warn(
        { sid: record.sid, vid: record.vid, wh: record.lastWh },
        'closed session left open by a restart',
      );
      this.options.publish(topics.vehicleSession(record.vid), payload);
    }
  }

  /** Keeps back an auth.result whose charger has not accepted yet (or that must never go out). */
  withholdResult(payload: string): boolean {
    for (const [sid, pending] of this.pendingStarts) {
      if (isResultFor(payload, sid)) {
        pending.resultPayload = payload;
        return true;
      }
    }
    const parsed = JSON.parse(payload) as { type?: string; sid?: string };
    return parsed.type === 'auth.result' && !this.sessions.has(parsed.sid ?? '');
  }

  /**
   * Opens the durable record and energises the connector: 'started', 'pending' while the charger has still to
   * accept (auth.result waits for it), or 'failed' (a MACed INTERNAL went out).
   */
  start(
    auth: AuthorizedSession,
    charger: ChargerController,
    requestedAt?: number,
  ): 'started' | 'pending' | 'failed' {
    const record: SessionRecord = {
      sid: auth.sid,
      pid: this.options.pid,
      connector: auth.connector,
      vid: auth.vid,
      tid: auth.tid,
      sk: auth.sk,
      maxWh: auth.maxWh ?? null,
      maxW: auth.offer.maxW,
      pricePerKWh: auth.offer.pricePerKWh,
      currency: auth.offer.currency,
      startedAt: auth.authorizedAt,
      meterSeq: 0,
      stopSeq: 0,
      lastWh: 0,
      lastW: 0,
      lastMeterAt: auth.authorizedAt,
      state: 'open',
      reason: null,
      endedAt: null,
      receipt: null,
      chargerSigned: null,
    };
    // Durable before auth.result goes out (the caller publishes it right after this returns).
    try {
      this.options.store.open(record);
    } catch (error) {
      this.options.authenticator.release(auth.connector);
      this.options.metrics.handshakes.inc({ outcome: 'rejected', code: 'INTERNAL' });
      this.options.log.error({ err: error, sid: auth.sid, vid: auth.vid }, 'cannot store the session record');
      this.options.publish(topics.vehicleAuth(auth.vid), internalError(auth.sid, auth.sk));
      return 'failed';
    }
    const signer = new PileSession({ sid: auth.sid, sk: auth.sk, meterSeq: 0, stopSeq: 0 });
    const active = {
      record,
      signer,
      charger,
      requestedAt,
      lastSignedAt: 0,
      chargerSigned: 0,
    } as ActiveSession;
    const starting = charger.energize({
      maxW: auth.offer.maxW,
      ...(auth.maxWh !== undefined ? { maxWh: auth.maxWh } : {}),
      sid: auth.sid,
      tid: auth.tid,
    });
    if (starting instanceof Promise) {
      this.pendingStarts.set(auth.sid, { active });
      starting.then(
        () => this.confirmStart(active),
        (error: unknown) => this.refuseStart(active, error),
      );
      return 'pending';
    }
    this.activate(active);
    return 'started';
  }

  /** The charger accepted: the withheld auth.result goes out, then the session runs as any other. */
  private confirmStart(active: ActiveSession): void {
    const pending = this.pendingStarts.get(active.record.sid);
    if (!pending) return;
    this.pendingStarts.delete(active.record.sid);
    if (pending.resultPayload)
      this.options.publish(topics.vehicleAuth(active.record.vid), pending.resultPayload);
    this.activate(active);
  }

  /**
   * The charger refused or did not answer in time: nothing was energised, so the record closes with 0 Wh, the
   * connector is free again and the vehicle gets a MACed error (TIMEOUT, or CONNECTOR_BUSY for a refusal).
   */
  private refuseStart(active: ActiveSession, error: unknown): void {
    const { record } = active;
    if (!this.pendingStarts.delete(record.sid)) return;
    const timedOut = error instanceof ChargerStartError && error.code === 'TIMEOUT';
    const reason: EndReason = timedOut ? 'start-timeout' : 'start-rejected';
    const code = timedOut ? 'TIMEOUT' : 'CONNECTOR_BUSY';
    const endedAt = this.options.now();
    try {
      const receipt = signedReceipt(active.signer, record, reason, 0, endedAt);
      this.options.store.closeSession(record.sid, reason, endedAt, 0, receipt);
    } catch (storeError) {
      this.options.log.error({ err: storeError, sid: record.sid }, 'cannot close the refused session record');
    }
    active.charger.deenergize();
    this.options.authenticator.release(record.connector);
    this.options.authenticator.withdraw(record.sid);
    this.options.metrics.handshakes.inc({ outcome: 'rejected', code });
    this.options.log.warn(
      { sid: record.sid, vid: record.vid, err: (error as Error).message },
      'charger did not start',
    );
    const message = timedOut
      ? 'the charger did not confirm the start in time'
      : 'the charger refused to start';
    this.options.publish(
      topics.vehicleAuth(record.vid),
      macedAuthError(record.sid, record.sk, code, message),
    );
    this.options.publishStatus();
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
      this.options.store.recordMeter(active.record.sid, message.seq, wh, reading.w, at);
      active.lastSignedAt = at;
      this.recordChargerSigned(active);
      const powerChanged = active.record.lastW !== reading.w;
      active.record.meterSeq = message.seq;
      active.record.lastWh = wh;
      active.record.lastW = reading.w;
      this.options.publish(topics.vehicleSession(active.record.vid), JSON.stringify(message));
      // The retained status carries the present power; refresh it when that changes (ramp, cap).
      if (powerChanged) this.options.publishStatus();
      this.options.metrics.metersSent.inc();
      if (active.record.maxWh !== null && wh >= active.record.maxWh) this.endSession(active, 'energy-cap');
    } catch (error) {
      this.options.log.error({ err: error, sid: active.record.sid }, 'meter reading failed');
    }
  }

  /** Keeps the charger's own signed readings on the session record, unchanged, as they arrive. */
  private recordChargerSigned(active: ActiveSession): void {
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
      this.closeSession(active, reason, reading, stopSeq);
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
  ): void {
    active.ending = false;
    if (!this.sessions.has(active.record.sid)) return;
    const wh = Math.max(reading.wh, active.record.lastWh);
    const endedAt = this.options.now();
    const payload = signedReceipt(active.signer, active.record, reason, wh, endedAt);
    try {
      this.recordChargerSigned(active);
      this.options.store.closeSession(active.record.sid, reason, endedAt, wh, payload, stopSeq);
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
    for (const { active } of [...this.pendingStarts.values()]) this.refuseStart(active, new Error(reason));
  }
}
