/**
 * PROTOCOL §8a on the gateway: every session.end of a pile carries its OCMF record, signed with the pile's P-256
 * key through OpenSSL, paginated (PG) by a count that is stored with each receipt, so it rises across restarts,
 * with the intermediate readings kept on the session record (TX T, where configured); where the charger's own
 * meter signed the session (OCPP signedMeterValue), its record goes along untouched.
 */
import type { Logger } from 'pino';
import { createOcmfSigner } from '../node/receipt-signing.js';
import type { PileSession } from '../shared/index.js';
import { type ChargerSignedReading, storedChargerReadings } from './charger.js';
import { signedReceipt } from './messages.js';
import { storedOcmfReadings } from './ocmf-readings.js';
import { type MadeReceipt, makeSessionEnd, type ReceiptJob } from './receipt-maker.js';
import type { ReceiptSigningThread } from './receipt-thread.js';
import type { ReceiptPage, SessionRecord, SessionStore } from './store.js';

export { RECEIPT_SIGNER_SOFTWARE } from './receipt-maker.js';

type ClosingRecord = Pick<
  SessionRecord,
  | 'sid'
  | 'sk'
  | 'pid'
  | 'connector'
  | 'tid'
  | 'pricePerKWh'
  | 'currency'
  | 'startedAt'
  | 'chargerSigned'
  | 'ocmfReadings'
>;

/** The charger meter's record for the receipt: its end-of-transaction reading, else its latest one. */
export function meterRecordOf(readings: readonly ChargerSignedReading[]): ChargerSignedReading | undefined {
  return [...readings].reverse().find((r) => r.context === 'Transaction.End') ?? readings.at(-1);
}

export interface PileReceiptsOptions {
  pid: string;
  /** the pile's signing key from the keystore; without one its receipts carry no OCMF record */
  signingKey?: Uint8Array;
  /** where live sessions' receipts are made (the gateway's receipt-signing thread); without it, on this thread */
  thread?: ReceiptSigningThread;
  store: SessionStore;
  log: Logger;
}

/** A session.end to store and send, and the pagination its OCMF record carries (stored with it). */
export interface SignedSessionEnd {
  payload: string;
  page?: ReceiptPage;
}

/** What ends: the record, why, its energy and time, and the charger's signed readings if it reports any now. */
type Closing = [
  record: ClosingRecord,
  reason: string,
  wh: number,
  endedAtMs: number,
  chargerSigned?: readonly ChargerSignedReading[],
];

/**
 * The receipts of one pile: the session.end payloads, MACed with SK and signed in OCMF. PG counts in memory from
 * the last stored one; the store keeps each receipt's PG in the transaction that stores the receipt, and only a
 * stored receipt is ever sent, so PG rises over every receipt that leaves the gateway, also across a SIGKILL (a
 * number signed into a receipt that was never stored may be signed again).
 */
export class PileReceipts {
  private readonly options: PileReceiptsOptions;
  private readonly sign?: (payloadText: string) => string;
  /** the pile's key as the receipt-signing thread knows it */
  private readonly threadKey?: number;
  private lastPage: number;

  constructor(options: PileReceiptsOptions) {
    this.options = options;
    if (options.signingKey) {
      this.sign = createOcmfSigner(options.signingKey);
      this.threadKey = options.thread?.register(options.signingKey);
    }
    this.lastPage = options.store.lastReceiptPage(options.pid);
  }

  get signs(): boolean {
    return this.sign !== undefined;
  }

  /**
   * The session.end payload of a record closing with `wh` at `endedAtMs`, made now on this thread. The charger's
   * signed readings are those it reports now, else those on the record (a session recovered after a restart).
   * `signer` MACs a receipt without an OCMF record; a signed one is made from the record's SK, as on the thread.
   */
  sessionEnd(signer: PileSession, ...end: Closing): SignedSessionEnd {
    const [record, reason, wh, endedAtMs] = end;
    if (!this.sign) return { payload: signedReceipt(signer, record, reason, wh, endedAtMs) };
    const job = this.job(...end);
    return this.made(job, makeSessionEnd(job, this.sign));
  }

  /**
   * sessionEnd made on the receipt-signing thread, off the event loop (a live session's end; a restart's recovery
   * and a shutdown make theirs at once). PG is taken now, so a receipt made at once meanwhile gets the next one.
   */
  async sessionEndAsync(signer: PileSession, ...end: Closing): Promise<SignedSessionEnd> {
    const { thread } = this.options;
    if (!this.sign || !thread || this.threadKey === undefined) return this.sessionEnd(signer, ...end);
    const job = this.job(...end);
    return this.made(job, (await thread.make(this.threadKey, job)) ?? makeSessionEnd(job, this.sign));
  }

  /** The job of one session.end, its PG taken. */
  private job(...[record, reason, wh, endedAtMs, chargerSigned]: Closing): ReceiptJob {
    const meter = meterRecordOf(chargerSigned ?? storedChargerReadings(record.chargerSigned) ?? []);
    this.lastPage += 1;
    return {
      sid: record.sid,
      sk: record.sk,
      pid: record.pid,
      connector: record.connector,
      tid: record.tid,
      pricePerKWh: record.pricePerKWh,
      currency: record.currency,
      startedAt: record.startedAt,
      reason,
      wh,
      endedAtMs,
      pg: this.lastPage,
      intermediate: storedOcmfReadings(record.ocmfReadings),
      ...(meter
        ? {
            meter: {
              signedMeterData: meter.signedMeterData,
              ...(meter.publicKey ? { publicKey: meter.publicKey } : {}),
            },
          }
        : {}),
    };
  }

  /** The made receipt with its pagination; a PG the record did not use is given back if still the latest. */
  private made(job: ReceiptJob, made: MadeReceipt): SignedSessionEnd {
    for (const { level, msg, ...fields } of made.notes)
      this.options.log[level]({ sid: job.sid, ...fields }, msg);
    if (made.signed) return { payload: made.payload, page: { pid: job.pid, pg: job.pg } };
    if (this.lastPage === job.pg) this.lastPage -= 1;
    return { payload: made.payload };
  }
}
