/**
 * PROTOCOL §8a on the gateway: every session.end of a pile carries its OCMF record, signed with the pile's P-256
 * key through OpenSSL, paginated (PG) by a count that is stored with each receipt, so it rises across restarts,
 * with the intermediate readings kept on the session record (TX T, where configured); where the charger's own
 * meter signed the session (OCPP signedMeterValue), its record goes along untouched.
 */
import type { Logger } from 'pino';
import { createOcmfSigners, type OcmfSigners } from '../node/receipt-signing.js';
import {
  buildReceiptOcmfPayload,
  decodeBody,
  decodeMessage,
  type PileSession,
  ReceiptBody,
  type ReceiptOcmfInput,
  SessionEnd,
  unixSeconds,
} from '../shared/index.js';
import type { ChargerSignedReading } from './charger.js';
import { type ReceiptSignatures, signedReceipt } from './messages.js';
import { storedOcmfReadings } from './ocmf-readings.js';
import type { ReceiptPage, SessionRecord, SessionStore } from './store.js';

/** GI of every record: the software that signs it. */
export const RECEIPT_SIGNER_SOFTWARE = 'evauth-gateway';

type ClosingRecord = Pick<
  SessionRecord,
  | 'sid'
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

/** The charger's signed readings kept on a session record (JSON), or none if there are none or they are unreadable. */
function storedReadings(json: string | null): ChargerSignedReading[] {
  if (json === null) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? (value as ChargerSignedReading[]) : [];
  } catch {
    return [];
  }
}

/**
 * Whether a vehicle reads this session.end as one: within 8 KiB, its body within session.end's 4096 characters,
 * the body's records and meter key within theirs (PROTOCOL §1, §8a).
 */
function readsAsReceipt(payload: string): boolean {
  const message = decodeMessage(SessionEnd, payload);
  return message.ok && decodeBody(ReceiptBody, message.value.body).ok;
}

export interface PileReceiptsOptions {
  pid: string;
  /** the pile's signing key from the keystore; without one its receipts carry no OCMF record */
  signingKey?: Uint8Array;
  store: SessionStore;
  log: Logger;
}

/** A record about to be signed: its text, its PG (taken), and the charger meter's record to go with it. */
interface PreparedRecord {
  text: string;
  page: ReceiptPage;
  meter?: ChargerSignedReading;
}

/** A session.end to store and send, and the pagination its OCMF record carries (stored with it). */
export interface SignedSessionEnd {
  payload: string;
  page?: ReceiptPage;
}

/**
 * The receipts of one pile: the session.end payloads, MACed with SK and signed in OCMF. PG counts in memory from
 * the last stored one; the store keeps each receipt's PG in the transaction that stores the receipt, and only a
 * stored receipt is ever sent, so PG rises over every receipt that leaves the gateway, also across a SIGKILL (a
 * number signed into a receipt that was never stored may be signed again).
 */
export class PileReceipts {
  private readonly options: PileReceiptsOptions;
  private readonly signers?: OcmfSigners;
  /** the pile's signatures in the thread pool, one after another: receipts leave in the order of their PG */
  private signing: Promise<unknown> = Promise.resolve();
  private lastPage: number;

  constructor(options: PileReceiptsOptions) {
    this.options = options;
    if (options.signingKey) this.signers = createOcmfSigners(options.signingKey);
    this.lastPage = options.store.lastReceiptPage(options.pid);
  }

  get signs(): boolean {
    return this.signers !== undefined;
  }

  /**
   * The session.end payload of a record closing with `wh` at `endedAtMs`. The charger's signed readings are
   * those it reports now, else those on the record (a session recovered after a restart).
   */
  sessionEnd(
    signer: PileSession,
    record: ClosingRecord,
    reason: string,
    wh: number,
    endedAtMs: number,
    chargerSigned?: readonly ChargerSignedReading[],
  ): SignedSessionEnd {
    const prepared = this.prepare(record, wh, endedAtMs, chargerSigned);
    const sealed = prepared
      ? this.sealed(
          prepared,
          this.trySign(record.sid, () => this.signers!.sign(prepared.text)),
        )
      : {};
    return this.receiptWith(signer, record, reason, wh, endedAtMs, sealed);
  }

  /**
   * sessionEnd with the ECDSA in the thread pool, off the event loop (a live session's end; a restart's recovery
   * and a shutdown sign at once). PG is taken now, so a receipt signed at once meanwhile gets the next one.
   */
  async sessionEndAsync(
    signer: PileSession,
    record: ClosingRecord,
    reason: string,
    wh: number,
    endedAtMs: number,
    chargerSigned?: readonly ChargerSignedReading[],
  ): Promise<SignedSessionEnd> {
    const prepared = this.prepare(record, wh, endedAtMs, chargerSigned);
    let sealed: ReceiptSignatures & { page?: ReceiptPage } = {};
    if (prepared) {
      const ocmf = this.signing.then(() => this.signers!.signAsync(prepared.text));
      this.signing = ocmf.catch(() => {});
      sealed = this.sealed(
        prepared,
        await ocmf.catch((error: unknown) => this.signFailed(error, record.sid)),
      );
    }
    return this.receiptWith(signer, record, reason, wh, endedAtMs, sealed);
  }

  /** The session.end with these signatures; the meter's record left out where the car could not read it. */
  private receiptWith(
    signer: PileSession,
    record: ClosingRecord,
    reason: string,
    wh: number,
    endedAtMs: number,
    { page, ...signatures }: ReceiptSignatures & { page?: ReceiptPage },
  ): SignedSessionEnd {
    const signed = (payload: string) => (page ? { payload, page } : { payload });
    const payload = signedReceipt(signer, record, reason, wh, endedAtMs, signatures);
    const { meterOcmf, meterKey } = signatures;
    if (meterOcmf === undefined || readsAsReceipt(payload)) return signed(payload);
    // The meter's record is the charger's to size: past what a receipt holds it stays on the session record only.
    this.options.log.warn(
      { sid: record.sid, chars: meterOcmf.length, keyChars: meterKey?.length },
      "the charger meter's signed record does not fit the receipt; left out",
    );
    return signed(signedReceipt(signer, record, reason, wh, endedAtMs, { ocmf: signatures.ocmf }));
  }

  /** The record to sign for this end, its PG taken; undefined without a key or when it cannot be built. */
  private prepare(
    record: ClosingRecord,
    wh: number,
    endedAtMs: number,
    chargerSigned: readonly ChargerSignedReading[] | undefined,
  ): PreparedRecord | undefined {
    if (!this.signers) return undefined;
    const meter = meterRecordOf(chargerSigned ?? storedReadings(record.chargerSigned));
    const pg = this.lastPage + 1;
    let text: string;
    try {
      text = this.payloadText(
        {
          pid: record.pid,
          connector: record.connector,
          tid: record.tid,
          gi: RECEIPT_SIGNER_SOFTWARE,
          pg,
          startedAt: unixSeconds(record.startedAt),
          endedAt: unixSeconds(endedAtMs),
          // the pile's register counts the session's energy from 0 (it has no meter of its own: MS is pid*connector)
          startWh: 0,
          endWh: wh,
          intermediate: storedOcmfReadings(record.ocmfReadings).map((r) => ({
            at: unixSeconds(r.atMs),
            wh: r.wh,
          })),
        },
        record.sid,
      );
    } catch (error) {
      return this.signFailed(error, record.sid);
    }
    this.lastPage = pg;
    return { text, page: { pid: record.pid, pg }, ...(meter ? { meter } : {}) };
  }

  private trySign(sid: string, sign: () => string): string | undefined {
    try {
      return sign();
    } catch (error) {
      return this.signFailed(error, sid);
    }
  }

  /** The MACed receipt still goes out: the vehicle accepts it without the record (PROTOCOL §8a "where"). */
  private signFailed(error: unknown, sid: string): undefined {
    this.options.log.error({ err: error, sid }, 'cannot sign the OCMF receipt');
    return undefined;
  }

  /** The receipt's signatures: the pile's record (when it was signed) and the meter's. */
  private sealed(
    prepared: PreparedRecord,
    ocmf: string | undefined,
  ): ReceiptSignatures & { page?: ReceiptPage } {
    if (ocmf === undefined) return {};
    const { meter } = prepared;
    return {
      ocmf,
      page: prepared.page,
      ...(meter ? { meterOcmf: meter.signedMeterData } : {}),
      ...(meter?.publicKey ? { meterKey: meter.publicKey } : {}),
    };
  }

  /**
   * The record's payload text; intermediate readings that do not fit between its start and end (a clock that
   * stepped back, a damaged session record) are left out rather than the whole record.
   */
  private payloadText(input: ReceiptOcmfInput, sid: string): string {
    if (!input.intermediate?.length) return buildReceiptOcmfPayload(input).text;
    try {
      return buildReceiptOcmfPayload(input).text;
    } catch (error) {
      this.options.log.warn({ err: error, sid }, 'intermediate readings left out of the OCMF receipt');
      return buildReceiptOcmfPayload({ ...input, intermediate: [] }).text;
    }
  }
}
