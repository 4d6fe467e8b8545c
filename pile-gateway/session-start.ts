/**
 * Opening a charging session once its handshake succeeded: the gateway's side of the authenticator's commit
 * point. The durable record is stored first, then the charger is started; only when both hold does the gateway
 * commit, and the authenticator hands out the auth.result. Where the charger must confirm the start (OCPP), the
 * commit waits for its acceptance; a record that cannot be stored, or a start the charger refused or left
 * unanswered, abandons the handshake (the connector is free again, a repeated auth.response gets nothing) and
 * the vehicle gets a MACed error instead.
 */
import type { Logger } from 'pino';
import { type AuthorizedSession, type PileAuthenticator, PileSession, topics } from '../shared/index.js';
import { type ActiveSession, type EndReason, openingRecord, type Publish } from './active-session.js';
import { type ChargerController, ChargerStartError } from './charger.js';
import { internalError, macedAuthError, signedReceipt } from './messages.js';
import type { GatewayMetrics } from './metrics.js';
import type { SessionStore } from './store.js';
import type { PileVehicleSessions } from './vehicle-sessions.js';

export interface SessionStartsOptions {
  pid: string;
  store: SessionStore;
  publish: Publish;
  now: () => number;
  metrics: GatewayMetrics;
  log: Logger;
  authenticator: Pick<PileAuthenticator, 'commit' | 'abandon'>;
  /** the open sessions each vehicle holds on the site: counted from here until the receipt */
  vehicleSessions: PileVehicleSessions;
  publishStatus(): void;
  /** the session is committed: it runs from now on */
  started(active: ActiveSession): void;
}

export class SessionStarts {
  private readonly options: SessionStartsOptions;
  /** authorised sessions whose charger has not yet accepted the start */
  private readonly waiting = new Map<string, ActiveSession>();

  constructor(options: SessionStartsOptions) {
    this.options = options;
  }

  /**
   * Stores the record and energises the connector, then commits (auth.result goes out) — at once, or when the
   * charger accepted. `charger` is the connector's (always there for a connector of the config).
   */
  start(auth: AuthorizedSession, charger: ChargerController | undefined, requestedAt?: number): void {
    // Two handshakes of one vehicle may pass their requests' checks at once: the first to succeed holds.
    const holding = this.options.vehicleSessions.refusal(auth.vid);
    if (holding !== undefined) {
      this.options.authenticator.abandon(auth.sid);
      this.options.metrics.handshakes.inc({ outcome: 'rejected', code: 'RATE_LIMITED' });
      this.options.log.info({ sid: auth.sid, vid: auth.vid }, holding);
      this.options.publish(
        topics.vehicleAuth(auth.vid),
        macedAuthError(auth.sid, auth.sk, 'RATE_LIMITED', holding),
      );
      return;
    }
    const record = openingRecord(this.options.pid, auth);
    // Durable before auth.result goes out.
    try {
      if (!charger) throw new Error(`no charger on connector ${auth.connector}`);
      this.options.store.open(record);
    } catch (error) {
      this.options.authenticator.abandon(auth.sid);
      this.options.metrics.handshakes.inc({ outcome: 'rejected', code: 'INTERNAL' });
      this.options.log.error({ err: error, sid: auth.sid, vid: auth.vid }, 'cannot store the session record');
      this.options.publish(topics.vehicleAuth(auth.vid), internalError(auth.sid, auth.sk));
      return;
    }
    this.options.vehicleSessions.opened(auth.sid, auth.vid);
    const active: ActiveSession = {
      record,
      signer: new PileSession({ sid: auth.sid, sk: auth.sk, meterSeq: 0, stopSeq: 0 }),
      charger,
      requestedAt,
      lastSignedAt: 0,
      chargerSigned: 0,
    };
    let starting: ReturnType<ChargerController['energize']>;
    try {
      starting = charger.energize({
        maxW: auth.offer.maxW,
        ...(auth.maxWh !== undefined ? { maxWh: auth.maxWh } : {}),
        sid: auth.sid,
        tid: auth.tid,
      });
    } catch (error) {
      // A controller that fails outright refused the start.
      starting = Promise.reject(error);
    }
    if (starting instanceof Promise) {
      this.waiting.set(auth.sid, active);
      starting.then(
        () => this.accepted(active),
        (error: unknown) => this.refused(active, error),
      );
      return;
    }
    this.commit(active);
  }

  /** Refuses every start still waiting for its charger (graceful shutdown). */
  refuseAll(reason: EndReason): void {
    for (const active of [...this.waiting.values()]) this.refused(active, new Error(reason));
  }

  /** auth.result goes out, then the session runs. */
  private commit(active: ActiveSession): void {
    for (const out of this.options.authenticator.commit(active.record.sid))
      if (out.kind === 'send') this.options.publish(out.topic, out.payload);
    this.options.started(active);
  }

  private accepted(active: ActiveSession): void {
    if (this.waiting.delete(active.record.sid)) this.commit(active);
  }

  /**
   * The charger refused or did not answer in time: nothing was energised, so the record closes with 0 Wh, the
   * handshake is abandoned and the vehicle gets a MACed error (TIMEOUT, or CONNECTOR_BUSY for a refusal).
   */
  private refused(active: ActiveSession, error: unknown): void {
    const { record } = active;
    if (!this.waiting.delete(record.sid)) return;
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
    this.options.vehicleSessions.closed(record.sid);
    this.options.authenticator.abandon(record.sid);
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
}
