/**
 * One pile served by the gateway: the shared PileAuthenticator for the handshake, the applied PileControlState,
 * a charger per connector and the open charging sessions. MQTT-agnostic: it gets payloads and publishes
 * through an injected function, so the gateway can route many piles over one connection.
 */
import type { Logger } from 'pino';
import {
  type AuthorizedSession,
  deriveControlKey,
  PileAuthenticator,
  PileControlState,
  type PileOutput,
  PileSession,
  type PileStatus,
  type RandomSource,
  type SessionStop,
  topics,
  unixSeconds,
} from '../shared/index.js';
import type { ChargerController } from './charger.js';
import type { PileConfig, PileKey } from './config.js';
import { internalError, isResultFor, signedReceipt } from './messages.js';
import { dropReason, type GatewayMetrics } from './metrics.js';
import type { SessionRecord, SessionStore } from './store.js';

export type Publish = (topic: string, payload: string, options?: { retain?: boolean }) => void;

export type EndReason =
  | 'stopped'
  | 'energy-cap'
  | 'unplugged'
  | 'fault'
  | 'gateway-restart'
  | 'gateway-shutdown';

interface ActiveSession {
  record: SessionRecord;
  signer: PileSession;
  charger: ChargerController;
  timer: ReturnType<typeof setInterval>;
}

export interface PileRuntimeOptions {
  gid: string;
  pile: PileConfig;
  key: PileKey;
  store: SessionStore;
  chargers: Map<number, ChargerController>;
  publish: Publish;
  now: () => number;
  random: RandomSource;
  meterIntervalMs: number;
  metrics: GatewayMetrics;
  logger: Logger;
  limits?: ConstructorParameters<typeof PileAuthenticator>[0]['limits'];
}

export class PileRuntime {
  readonly pid: string;
  readonly chargers: Map<number, ChargerController>;
  private readonly options: PileRuntimeOptions;
  private readonly control: PileControlState;
  private readonly controlKey: Uint8Array;
  private readonly authenticator: PileAuthenticator;
  private readonly sessions = new Map<string, ActiveSession>();
  /** when each pending handshake's auth.request arrived, for the latency histogram */
  private readonly requestedAt = new Map<string, number>();
  private readonly log: Logger;
  private online = true;

  constructor(options: PileRuntimeOptions) {
    this.options = options;
    this.pid = options.pile.pid;
    this.chargers = options.chargers;
    // `pid` is pino's process id: log the pile as `pile`.
    this.log = options.logger.child({ pile: this.pid });
    this.controlKey = deriveControlKey(options.key.rootKey, this.pid);
    const saved = options.store.loadControl(this.pid);
    this.control = saved
      ? new PileControlState(saved)
      : PileControlState.fromKeyOffset(options.key.keyOffset);
    this.authenticator = new PileAuthenticator({
      pid: this.pid,
      rootKey: options.key.rootKey,
      connectors: options.pile.connectors,
      tariff: options.pile.tariff,
      control: this.control,
      now: options.now,
      random: options.random,
      limits: options.limits,
      connectorAvailable: (id) => this.chargers.get(id)?.available ?? false,
    });
    for (const [id, charger] of this.chargers) {
      charger.onEvent((event) => {
        const active = this.sessionOn(id);
        if (event.kind === 'unplugged' && active) this.endSession(active, 'unplugged');
        if (event.kind === 'faulted' && active) this.endSession(active, 'fault');
        this.publishStatus();
      });
    }
  }

  get activeSessionCount(): number {
    return this.sessions.size;
  }

  get controlSnapshot() {
    return this.control.snapshot();
  }

  private sessionOn(connector: number): ActiveSession | undefined {
    for (const s of this.sessions.values()) if (s.record.connector === connector) return s;
    return undefined;
  }

  /**
   * Closes every session a previous run left open: the receipt carries the last signed meter reading and is
   * signed with the stored SK, so the vehicle can verify it; reason `gateway-restart`.
   */
  recoverOpenSessions(open: readonly SessionRecord[]): void {
    for (const record of open) {
      if (record.pid !== this.pid) continue;
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
      this.log.warn(
        { sid: record.sid, vid: record.vid, wh: record.lastWh },
        'closed session left open by a restart',
      );
      this.options.publish(topics.vehicleSession(record.vid), payload);
    }
  }

  /** A payload on piles/{pid}/auth. Retained messages on auth topics are never acted on. */
  handleAuth(payload: Buffer, retained: boolean): void {
    if (retained) {
      this.options.metrics.dropped.inc({ reason: 'retained' });
      return;
    }
    const receivedAt = this.options.now();
    let withheld: string | undefined;
    for (const out of this.authenticator.handle(payload)) {
      if (out.kind === 'authorized' && !this.startSession(out.session)) {
        // Not durable, so not authorised: the auth.result that follows must not go out.
        withheld = out.session.sid;
        continue;
      }
      if (out.kind === 'send' && withheld && isResultFor(out.payload, withheld)) continue;
      if (out.kind !== 'authorized') this.apply(out, receivedAt, payload);
    }
  }

  /** Forgets expired challenges (MACed TIMEOUT to the vehicle). */
  tick(): void {
    for (const out of this.authenticator.tick()) this.apply(out, this.options.now());
  }

  private apply(out: PileOutput, receivedAt: number, payload?: Buffer): void {
    const m = this.options.metrics;
    switch (out.kind) {
      case 'send':
        this.options.publish(out.topic, out.payload);
        break;
      case 'challenged':
        this.requestedAt.set(out.sid, receivedAt);
        break;
      case 'authorized':
        // handled in handleAuth, which must know whether the record was stored before auth.result goes out
        break;
      case 'rejected':
        m.handshakes.inc({ outcome: 'rejected', code: out.code });
        if (out.sid) this.requestedAt.delete(out.sid);
        this.log.info({ sid: out.sid, vid: out.vid, code: out.code }, out.message);
        break;
      case 'aborted':
        m.handshakes.inc({ outcome: 'aborted', code: out.reason.slice(0, 32) });
        this.requestedAt.delete(out.sid);
        this.log.info({ sid: out.sid, vid: out.vid, reason: out.reason }, 'vehicle aborted the handshake');
        break;
      case 'expired':
        m.handshakes.inc({ outcome: 'expired', code: 'TIMEOUT' });
        this.requestedAt.delete(out.sid);
        break;
      case 'stop':
        this.onStop(out.message);
        break;
      case 'dropped':
        m.dropped.inc({ reason: dropReason(out.reason) });
        this.log.debug({ reason: out.reason, bytes: payload?.length }, 'dropped message');
        break;
    }
  }

  /** Opens the durable record and energises the connector; false (and a MACed INTERNAL) if it cannot. */
  private startSession(auth: AuthorizedSession): boolean {
    const charger = this.chargers.get(auth.connector);
    if (!charger) return false;
    const record: SessionRecord = {
      sid: auth.sid,
      pid: this.pid,
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
    };
    // Durable before auth.result goes out (the caller publishes it right after this returns).
    try {
      this.options.store.open(record);
    } catch (error) {
      this.authenticator.release(auth.connector);
      this.requestedAt.delete(auth.sid);
      this.options.metrics.handshakes.inc({ outcome: 'rejected', code: 'INTERNAL' });
      this.log.error({ err: error, sid: auth.sid, vid: auth.vid }, 'cannot store the session record');
      this.options.publish(topics.vehicleAuth(auth.vid), internalError(auth.sid, auth.sk));
      return false;
    }
    const signer = new PileSession({ sid: auth.sid, sk: auth.sk, meterSeq: 0, stopSeq: 0 });
    charger.energize({ maxW: auth.offer.maxW, ...(auth.maxWh !== undefined ? { maxWh: auth.maxWh } : {}) });
    const active = { record, signer, charger } as ActiveSession;
    active.timer = setInterval(() => this.meter(active), this.options.meterIntervalMs);
    this.sessions.set(auth.sid, active);
    const started = this.requestedAt.get(auth.sid);
    this.requestedAt.delete(auth.sid);
    // auth.result is written when this message's handling ends (mqtt.js uncorks on the next tick); the
    // bookkeeping, the log line, the first reading and the status come after it, off the handshake's path.
    queueMicrotask(() => {
      const m = this.options.metrics;
      m.handshakes.inc({ outcome: 'authorized', code: 'OK' });
      if (started !== undefined) m.handshakeLatency.observe((this.options.now() - started) / 1000);
      m.activeSessions.inc();
      this.log.info({ sid: auth.sid, vid: auth.vid, connector: auth.connector }, 'session authorized');
      if (this.sessions.has(auth.sid)) this.meter(active);
      this.publishStatus();
    });
    return true;
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
      const powerChanged = active.record.lastW !== reading.w;
      active.record.meterSeq = message.seq;
      active.record.lastWh = wh;
      active.record.lastW = reading.w;
      this.options.publish(topics.vehicleSession(active.record.vid), JSON.stringify(message));
      // The retained status carries the present power; refresh it when that changes (ramp, cap).
      if (powerChanged) this.publishStatus();
      this.options.metrics.metersSent.inc();
      if (active.record.maxWh !== null && wh >= active.record.maxWh) this.endSession(active, 'energy-cap');
    } catch (error) {
      this.log.error({ err: error, sid: active.record.sid }, 'meter reading failed');
    }
  }

  private onStop(stop: SessionStop): void {
    const active = this.sessions.get(stop.sid);
    if (!active) {
      this.resendReceipt(stop);
      return;
    }
    const verified = active.signer.verifyStop(stop);
    if (!verified.ok) {
      this.options.metrics.dropped.inc({ reason: 'bad-stop' });
      this.log.warn({ sid: stop.sid, code: verified.code }, verified.message);
      return;
    }
    this.endSession(active, 'stopped', verified.value);
  }

  /** A stop for a session already closed (its receipt may have been lost): send the stored receipt again. */
  private resendReceipt(stop: SessionStop): void {
    const record = this.options.store.get(stop.sid);
    if (!record || record.pid !== this.pid || record.state !== 'closed' || !record.receipt) {
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

  /** Closes a session: final reading, signed receipt stored, then session.end sent and the connector freed. */
  endSession(active: ActiveSession, reason: EndReason, stopSeq?: number): void {
    if (!this.sessions.has(active.record.sid)) return;
    const reading = active.charger.read();
    const wh = Math.max(reading.wh, active.record.lastWh);
    const endedAt = this.options.now();
    const payload = signedReceipt(active.signer, active.record, reason, wh, endedAt);
    try {
      this.options.store.closeSession(active.record.sid, reason, endedAt, wh, payload, stopSeq);
    } catch (error) {
      // No receipt goes out that is not on record: the session stays open, the vehicle's repeated stop (or a
      // restart's recovery) closes it later.
      this.log.error(
        { err: error, sid: active.record.sid, reason },
        'cannot store the receipt; session stays open',
      );
      return;
    }
    this.sessions.delete(active.record.sid);
    clearInterval(active.timer);
    active.charger.deenergize();
    this.authenticator.release(active.record.connector);
    this.options.publish(topics.vehicleSession(active.record.vid), payload);
    this.options.metrics.activeSessions.dec();
    this.options.metrics.sessionsEnded.inc({ reason });
    this.log.info({ sid: active.record.sid, vid: active.record.vid, reason, wh }, 'session ended');
    this.publishStatus();
  }

  /** Ends every open session (graceful shutdown). */
  endAll(reason: EndReason): void {
    for (const active of [...this.sessions.values()]) this.endSession(active, reason);
  }

  /** A payload on piles/{pid}/control: applied only with a valid MAC and a higher seq, then persisted. */
  handleControl(payload: Buffer): void {
    if (payload.length === 0) return;
    const result = this.control.apply(this.controlKey, this.pid, payload, unixSeconds(this.options.now()));
    if (!result.ok) {
      // A retained control we already applied comes back on every reconnect: not worth a warning.
      if (result.code !== 'STALE_SEQ') {
        this.options.metrics.dropped.inc({ reason: 'control-rejected' });
        this.log.warn({ code: result.code }, result.message);
      }
      return;
    }
    this.options.store.saveControl(this.pid, this.control.snapshot());
    this.log.info(
      { seq: result.value.seq, accept: result.value.keyOffset.accept, revoked: result.value.revoked.length },
      'applied pile.control',
    );
  }

  setOnline(online: boolean): void {
    this.online = online;
  }

  status(): PileStatus {
    return {
      v: 1,
      pid: this.pid,
      gid: this.options.gid,
      ts: unixSeconds(this.options.now()),
      connectors: this.options.pile.connectors.map((c) => {
        const charger = this.chargers.get(c.id);
        const active = this.sessionOn(c.id);
        if (!this.online) return { id: c.id, state: 'offline' as const };
        if (charger?.faulted) return { id: c.id, state: 'faulted' as const };
        if (active) return { id: c.id, state: 'charging' as const, w: active.record.lastW };
        if (this.authenticator.isOccupied(c.id) || !charger?.available)
          return { id: c.id, state: 'occupied' as const };
        return { id: c.id, state: 'available' as const };
      }),
    };
  }

  publishStatus(): void {
    this.options.publish(topics.pileStatus(this.pid), JSON.stringify(this.status()), { retain: true });
  }
}
