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
  type PileCounters,
  type PileOutput,
  type PileStatus,
  type RandomSource,
  topics,
  unixSeconds,
} from '../shared/index.js';
import type { ChargerController } from './charger.js';
import { ChargingSessions, type EndReason, type Publish } from './charging-sessions.js';
import type { PileConfig, PileKey } from './config.js';
import { dropReason, type GatewayMetrics } from './metrics.js';
import { connectorStatus } from './pile-status.js';
import type { ReceiptSigningThread } from './receipt-thread.js';
import { PileReceipts } from './signed-receipts.js';
import type { SessionRecord, SessionStore } from './store.js';
import { type PileVehicleSessions, VehicleSessions } from './vehicle-sessions.js';

export type { EndReason, Publish } from './charging-sessions.js';

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
  /** config ocmfReadingIntervalMs: signed intermediate readings in the OCMF record; absent: none */
  ocmfReadingIntervalMs?: number;
  metrics: GatewayMetrics;
  logger: Logger;
  limits?: ConstructorParameters<typeof PileAuthenticator>[0]['limits'];
  /** the migration switch of PROTOCOL §6 (config acceptRevision1Requests): serve requests without mac */
  acceptRevision1Requests?: boolean;
  /** the site's ledger of open sessions per vehicle (default: this pile's own, with the default limits) */
  vehicleSessions?: PileVehicleSessions;
  /** where live sessions' signed receipts are made; without it, on the event loop */
  receiptThread?: ReceiptSigningThread;
}

export class PileRuntime {
  readonly pid: string;
  readonly chargers: Map<number, ChargerController>;
  private readonly options: PileRuntimeOptions;
  private readonly control: PileControlState;
  private readonly controlKey: Uint8Array;
  private readonly authenticator: PileAuthenticator;
  private readonly charging: ChargingSessions;
  /** the pile's receipts: MACed with SK, signed in OCMF with its key (PROTOCOL §8a) */
  readonly receipts: PileReceipts;
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
    const vehicleSessions = options.vehicleSessions ?? new VehicleSessions().forPile(this.pid);
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
      acceptRevision1Requests: options.acceptRevision1Requests ?? false,
      vehicleSessionRefusal: (vid) => vehicleSessions.refusal(vid),
    });
    options.metrics.watchPile(
      this.pid,
      () => this.authenticator.counts(),
      () => this.authenticator.memoryStats(),
    );
    this.receipts = new PileReceipts({
      pid: this.pid,
      store: options.store,
      log: this.log,
      ...(options.key.signingKey ? { signingKey: options.key.signingKey } : {}),
      ...(options.receiptThread ? { thread: options.receiptThread } : {}),
    });
    if (!this.receipts.signs)
      this.log.warn('the keystore has no signingKey for this pile: its receipts carry no OCMF record');
    this.charging = new ChargingSessions({
      receipts: this.receipts,
      pid: this.pid,
      store: options.store,
      publish: options.publish,
      now: options.now,
      meterIntervalMs: options.meterIntervalMs,
      ocmfReadingIntervalMs: options.ocmfReadingIntervalMs,
      metrics: options.metrics,
      log: this.log,
      authenticator: this.authenticator,
      vehicleSessions,
      publishStatus: () => this.publishStatus(),
    });
    for (const [id, charger] of this.chargers) {
      charger.onEvent((event) => {
        this.charging.onChargerEvent(id, event);
        if (event.kind !== 'meter') this.publishStatus();
      });
    }
  }

  get activeSessionCount(): number {
    return this.charging.count;
  }

  /** Its open sessions' records, with the last reading the gateway signed. */
  openSessions(): SessionRecord[] {
    return this.charging.records();
  }

  /** Its auth.request refusals by code and other counts (PileAuthenticator.counts). */
  counts(): PileCounters {
    return this.authenticator.counts();
  }

  get controlSnapshot() {
    return this.control.snapshot();
  }

  /** A payload on piles/{pid}/auth. Retained messages on auth topics are never acted on. */
  handleAuth(payload: Buffer, retained: boolean): void {
    if (retained) {
      this.options.metrics.dropped.inc({ reason: 'retained' });
      return;
    }
    const receivedAt = this.options.now();
    for (const out of this.authenticator.handle(payload)) this.apply(out, receivedAt, payload);
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
        // Served only because the migration switch is on: name the vehicle that still needs its update.
        if (out.revision === 1)
          this.log.info({ vid: out.vid, sid: out.sid }, 'revision-1 request (no mac) served');
        break;
      case 'authorized':
        // The session opens; its auth.result goes out when the gateway commits it (see SessionStarts).
        this.startSession(out.session);
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
        this.charging.stop(out.message);
        break;
      case 'dropped':
        m.dropped.inc({ reason: dropReason(out.reason) });
        this.log.debug({ reason: out.reason, bytes: payload?.length }, 'dropped message');
        break;
    }
  }

  /** Opens the session of a handshake that succeeded (see SessionStarts). */
  private startSession(session: AuthorizedSession): void {
    const requestedAt = this.requestedAt.get(session.sid);
    this.requestedAt.delete(session.sid);
    this.charging.start(session, this.chargers.get(session.connector), requestedAt);
  }

  /** Takes back a session a previous run left open, where its charger can (ChargingSessions.resume). */
  resume(record: SessionRecord): boolean {
    return this.charging.resume(record, this.chargers.get(record.connector));
  }

  /** Ends every open session (graceful shutdown). */
  endAll(reason: EndReason): void {
    this.charging.endAll(reason);
  }

  /**
   * A payload on piles/{pid}/control (up to 256 KiB, PROTOCOL §7): applied only with a valid MAC and a higher seq,
   * then persisted, revoked tickets and vehicles with it, so a restarted gateway keeps refusing them.
   */
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
      {
        seq: result.value.seq,
        accept: result.value.keyOffset.accept,
        revoked: result.value.revoked.length,
        revokedVehicles: result.value.revokedVehicles?.length ?? 0,
        bytes: payload.length,
      },
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
      connectors: this.options.pile.connectors.map((c) =>
        connectorStatus(c.id, {
          online: this.online,
          charger: this.chargers.get(c.id),
          chargingW: this.charging.sessionOn(c.id)?.record.lastW,
          occupied: this.authenticator.isOccupied(c.id),
        }),
      ),
    };
  }

  publishStatus(): void {
    this.options.publish(topics.pileStatus(this.pid), JSON.stringify(this.status()), { retain: true });
  }
}
