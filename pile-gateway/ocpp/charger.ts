/**
 * One connector of an OCPP charging station as the gateway's ChargerController. What the station reports
 * (status, transactions, meter values) arrives here already mapped from its protocol version (v201.ts, v16.ts);
 * starts and stops go out through the station's link. The rules that keep charging honest live here:
 * - plug first: the connector is authorisable only while a cable is plugged in and no session holds it;
 * - a start counts once the station accepted it; a late acceptance (after the vehicle was answered) is stopped;
 * - a transaction that no accepted session owns is never left charging (no free charging);
 * - energy is the register's rise since the session's start, never counted twice (queued events by seqNo).
 */
import {
  type ChargerController,
  type ChargerEvent,
  ChargerEvents,
  type ChargerReading,
  type ChargerSignedReading,
  ChargerStartError,
  type EnergizeRequest,
} from '../charger.js';
import {
  bindingOf,
  MAX_SEQNOS,
  MAX_SIGNED,
  newTransaction,
  type OcppTimings,
  resumedSession,
  type Session,
  type StationLink,
  sameToken,
  type Transaction,
  type TransactionReport,
} from './connector-state.js';

export type { OcppTimings, StationLink, TransactionReport } from './connector-state.js';

export class OcppCharger implements ChargerController {
  readonly connector: number;
  private readonly link: StationLink;
  private readonly timings: OcppTimings;
  private readonly nextRemoteStartId: () => number;
  private readonly events = new ChargerEvents();
  private isPlugged = false;
  private isFaulted = false;
  private unavailable = false;
  /** the transaction on this connector that no session owns (plugged-in first, or left over) */
  private loose?: Transaction;
  private session?: Session;
  /** the signed readings of the session that ended last, until the next starts (the pile stores them then) */
  private lastSigned: readonly ChargerSignedReading[] = [];
  /** transactions that ended here lately: their queued events, arriving after the end, change nothing */
  private readonly endedIds: string[] = [];

  constructor(options: {
    connector: number;
    link: StationLink;
    timings: OcppTimings;
    nextRemoteStartId: () => number;
  }) {
    this.connector = options.connector;
    this.link = options.link;
    this.timings = options.timings;
    this.nextRemoteStartId = options.nextRemoteStartId;
  }

  get online(): boolean {
    return this.link.online;
  }

  get plugged(): boolean {
    return this.isPlugged;
  }

  get faulted(): boolean {
    return this.isFaulted;
  }

  get available(): boolean {
    return (
      this.link.online &&
      this.isPlugged &&
      !this.isFaulted &&
      !this.unavailable &&
      !this.session &&
      !this.loose?.charging
    );
  }

  /** The token the station is asked to start with: the ticket id (1.6 idTag: its first 20 characters). */
  private tokenFor(tid: string): string {
    return this.link.protocol === 'ocpp1.6' ? tid.slice(0, 20) : tid;
  }

  energize(request: EnergizeRequest): Promise<void> {
    if (!this.link.online) return Promise.reject(new ChargerStartError('OFFLINE', 'the station is offline'));
    const session: Session = {
      sid: request.sid ?? '',
      token: this.tokenFor(request.tid ?? request.sid ?? ''),
      remoteStartId: this.nextRemoteStartId(),
      accepted: false,
      cancelled: false,
      signed: [],
    };
    this.session = session;
    this.lastSigned = [];
    // A start that was plugged in first already has its transaction: the session takes it over.
    if (this.loose && !this.loose.ended) {
      session.tx = this.loose;
      session.startRegisterWh = this.loose.registerWh;
      this.loose = undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const answerTimer = setTimeout(() => {
        session.cancelled = true;
        reject(new ChargerStartError('TIMEOUT', 'the station did not accept the start in time'));
      }, this.timings.answerWithinMs);
      this.link.requestStart(this.connector, session.token, session.remoteStartId).then(
        (answer) => {
          clearTimeout(answerTimer);
          if (session.cancelled || !answer.accepted) {
            // Told no, or accepted too late: whatever the station started for it is stopped.
            session.cancelled = true;
            if (answer.accepted && answer.transactionId) this.disown(answer.transactionId);
            this.release(session);
            if (!answer.accepted) reject(new ChargerStartError('REJECTED', 'the station rejected the start'));
            return;
          }
          if (answer.transactionId && !session.tx) this.bind(session, answer.transactionId);
          session.accepted = true;
          resolve();
        },
        (error: unknown) => {
          clearTimeout(answerTimer);
          session.cancelled = true;
          this.release(session);
          reject(new ChargerStartError('TIMEOUT', `the station did not answer: ${(error as Error).message}`));
        },
      );
    });
  }

  deenergize(): Promise<ChargerReading> {
    const session = this.session;
    if (!session) return Promise.resolve(this.read());
    if (session.endedReading) {
      const final = session.endedReading;
      this.release(session);
      return Promise.resolve(final);
    }
    const reading = this.read();
    if (!session.accepted || !session.tx || !this.link.online) {
      // Nothing confirmed to stop here, or nobody to ask: the session ends with what is known. A transaction
      // still running is no one's now and is stopped when the station reports it again.
      session.cancelled = true;
      this.release(session);
      return Promise.resolve(reading);
    }
    const tx = session.tx;
    return new Promise<ChargerReading>((resolve) => {
      const timer = setTimeout(() => {
        session.onEnded = undefined;
        this.release(session);
        resolve(this.readSession(session));
      }, this.timings.stopTimeoutMs);
      session.onEnded = (final) => {
        clearTimeout(timer);
        this.release(session);
        resolve(final);
      };
      this.link.requestStop(this.connector, tx.id).catch(() => undefined);
    });
  }

  read(): ChargerReading {
    return this.session ? this.readSession(this.session) : { wh: 0, w: 0, state: 'suspended' };
  }

  private readSession(session: Session): ChargerReading {
    if (session.endedReading) return session.endedReading;
    const tx = session.tx;
    const wh =
      tx?.registerWh !== undefined && session.startRegisterWh !== undefined
        ? Math.max(0, Math.floor(tx.registerWh - session.startRegisterWh))
        : 0;
    const live = this.link.online && tx !== undefined && !tx.ended;
    const charging = live && tx.charging;
    return {
      wh,
      w: live ? Math.round(tx.w) : 0,
      state: this.isFaulted ? 'faulted' : charging ? 'charging' : 'suspended',
    };
  }

  signedReadings(): readonly ChargerSignedReading[] {
    return this.session?.signed ?? this.lastSigned;
  }

  binding(): string | undefined {
    return this.session ? bindingOf(this.session) : undefined;
  }

  /**
   * A session the gateway ran before a restart: its transaction is this session's again, so the station's
   * reports (queued or live) resume it and its end closes it; until the station is back, the offline grace runs.
   */
  resume(sid: string, binding: string, signed: readonly ChargerSignedReading[]): boolean {
    const session = this.session ? undefined : resumedSession(sid, binding, signed);
    if (!session) return false;
    this.session = session;
    // its transaction ran on: the cable is in until the station reports otherwise
    this.isPlugged = true;
    this.watchLink(session);
    return true;
  }

  onEvent(listener: (event: ChargerEvent) => void): () => void {
    return this.events.listen(listener);
  }

  /** The session is over for this connector: it may take the next car once it is free. */
  private release(session: Session): void {
    clearTimeout(session.graceTimer);
    if (this.session !== session) return;
    this.session = undefined;
    this.lastSigned = session.signed;
    const tx = session.tx;
    if (tx && !tx.ended) this.disown(tx.id, tx);
    this.events.emit({ kind: 'status' });
  }

  /** A transaction still running on the station that no session owns any more: it must stop. */
  private disown(transactionId: string, known?: Transaction): void {
    const tx = known ?? (this.loose?.id === transactionId ? this.loose : newTransaction(transactionId));
    tx.mustStop = true;
    this.loose = tx;
    this.stopLoose();
  }

  private bind(session: Session, transactionId: string): Transaction {
    const tx = this.loose?.id === transactionId ? this.loose : newTransaction(transactionId);
    if (this.loose === tx) this.loose = undefined;
    session.tx = tx;
    if (tx.registerWh !== undefined && session.startRegisterWh === undefined)
      session.startRegisterWh = tx.registerWh;
    return tx;
  }

  private stopLoose(): void {
    const tx = this.loose;
    if (!tx || tx.ended || !tx.mustStop || tx.stopAsked || !this.link.online) return;
    tx.stopAsked = true;
    this.link.requestStop(this.connector, tx.id).catch(() => {
      tx.stopAsked = false;
    });
  }

  /**
   * StatusNotification (mapped): a cable, a fault, or the connector taken out of service. `plugged` undefined: the
   * status says nothing of the cable (Unavailable, Reserved), which stays as last known.
   */
  reportStatus(status: { plugged?: boolean; faulted: boolean; unavailable: boolean }): void {
    const wasFaulted = this.isFaulted;
    const plugged = status.plugged ?? this.isPlugged;
    const changed =
      plugged !== this.isPlugged || status.faulted !== wasFaulted || status.unavailable !== this.unavailable;
    this.isPlugged = plugged;
    this.isFaulted = status.faulted;
    this.unavailable = status.unavailable;
    if (status.faulted && !wasFaulted)
      this.events.emit({ kind: 'faulted', message: 'the station reports a fault' });
    else if (!status.faulted && wasFaulted) this.events.emit({ kind: 'cleared' });
    else if (changed) this.events.emit({ kind: 'status' });
  }

  /**
   * A transaction report. Returns whether its token (if it carries one) is one this gateway asked to start here
   * and still stands for; the station is told Invalid otherwise.
   */
  reportTransaction(report: TransactionReport): { tokenAccepted: boolean } {
    if (this.endedIds.includes(report.transactionId)) return { tokenAccepted: false };
    const session = this.session;
    let tx: Transaction | undefined;
    const ours =
      session !== undefined &&
      !session.cancelled &&
      (session.tx?.id === report.transactionId ||
        (!session.tx &&
          ((report.remoteStartId !== undefined && report.remoteStartId === session.remoteStartId) ||
            sameToken(report.token, session.token))));
    if (ours && session) tx = session.tx ?? this.bind(session, report.transactionId);
    else if (this.loose?.id === report.transactionId) tx = this.loose;
    else if (session?.tx?.id === report.transactionId) tx = session.tx;
    else {
      tx = newTransaction(report.transactionId);
      if (!this.loose || this.loose.ended) this.loose = tx;
    }
    if (report.seqNo !== undefined) {
      if (tx.seqNos.has(report.seqNo)) return { tokenAccepted: ours };
      if (tx.seqNos.size < MAX_SEQNOS) tx.seqNos.add(report.seqNo);
    }
    if (report.registerWh !== undefined) {
      // Registers only rise; a queued older event arriving late must not lower it.
      tx.registerWh = Math.max(tx.registerWh ?? report.registerWh, report.registerWh);
      if (ours && session && session.startRegisterWh === undefined)
        session.startRegisterWh = report.registerWh;
    }
    if (report.w !== undefined) tx.w = report.w;
    if (report.charging !== undefined) tx.charging = report.charging;
    if (report.plugged !== undefined && report.plugged !== this.isPlugged) {
      this.isPlugged = report.plugged;
      if (!ours) this.events.emit({ kind: 'status' });
    }
    if (ours && session && report.signed) {
      for (const s of report.signed) if (session.signed.length < MAX_SIGNED) session.signed.push(s);
    }
    if (report.ended) {
      tx.ended = true;
      this.endedIds.push(tx.id);
      if (this.endedIds.length > 8) this.endedIds.shift();
    }
    if (ours && session) this.onSessionReport(session, tx, report);
    else if (tx === this.loose) {
      if (tx.ended) this.loose = undefined;
      else if (tx.charging || report.token !== undefined) {
        // Charging, or authorised by someone else, with no session of ours: no free charging.
        tx.mustStop = true;
        this.stopLoose();
      }
    }
    const tokenAccepted = report.token === undefined ? true : ours;
    return { tokenAccepted };
  }

  private onSessionReport(session: Session, tx: Transaction, report: TransactionReport): void {
    if (!tx.ended) {
      if (session.accepted) this.events.emit({ kind: 'meter' });
      return;
    }
    const final = this.readSession(session);
    session.endedReading = final;
    if (session.onEnded) session.onEnded(final);
    else if (session.accepted) this.events.emit({ kind: 'ended', reason: report.ended ?? 'charger-stopped' });
    else this.release(session);
  }

  /** The station connected or went away: a session survives the offline grace, then ends with what is known. */
  linkChanged(): void {
    if (this.session) this.watchLink(this.session);
    if (this.link.online) {
      if (this.loose) this.loose.stopAsked = false;
      this.stopLoose();
    }
    this.events.emit({ kind: 'status' });
  }

  /** Runs the offline grace of an accepted session while its station is away (and stops it once it is back). */
  private watchLink(session: Session): void {
    if (!session.accepted || session.endedReading) return;
    clearTimeout(session.graceTimer);
    session.graceTimer = undefined;
    if (this.link.online) return;
    session.graceTimer = setTimeout(() => {
      if (this.session === session && !this.link.online)
        this.events.emit({ kind: 'ended', reason: 'charger-offline' });
    }, this.timings.offlineGraceMs);
  }

  /**
   * A 1.6 StartTransaction: accepted only for the session this gateway started here; the id it runs under, or
   * undefined when refused. The same start sent again (its answer was lost) gets the same id.
   */
  beginTransaction(token: string, meterStartWh: number, proposedId: string): string | undefined {
    const session = this.session;
    if (!session || session.cancelled || !sameToken(token, session.token)) return undefined;
    if (session.tx) return session.startRegisterWh === meterStartWh ? session.tx.id : undefined;
    const tx = this.bind(session, proposedId);
    tx.registerWh = meterStartWh;
    tx.charging = true;
    session.startRegisterWh = meterStartWh;
    return tx.id;
  }

  /** The 1.6 idTag of the session this connector may start, for Authorize. */
  acceptsToken(token: string): boolean {
    return this.session !== undefined && !this.session.cancelled && sameToken(token, this.session.token);
  }

  /** Whether the transaction runs here, for a session or loose (2.0.1 events after the first may omit the EVSE). */
  knowsTransaction(transactionId: string): boolean {
    return (
      this.ownsTransaction(transactionId) ||
      this.loose?.id === transactionId ||
      this.endedIds.includes(transactionId)
    );
  }

  /** The station's id of the transaction the session runs (1.6 MeterValues name it). */
  ownsTransaction(transactionId: string): boolean {
    return this.session?.tx?.id === transactionId;
  }
}
