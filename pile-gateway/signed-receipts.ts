/**
 * PROTOCOL §8a on the gateway: every session.end of a pile carries its OCMF record, signed with the pile's P-256
 * key through OpenSSL, paginated (PG) by a count kept in the session store so it rises across restarts; where
 * the charger's own meter signed the session (OCPP signedMeterValue), its record goes along untouched.
 */
import type { Logger } from 'pino';
import { createOcmfSigner } from '../node/receipt-signing.js';
import {
  buildReceiptOcmfPayload,
  MAX_PAYLOAD_BYTES,
  MAX_RECEIPT_METER_KEY_CHARS,
  MAX_RECEIPT_OCMF_CHARS,
  type PileSession,
  unixSeconds,
} from '../shared/index.js';
import type { ChargerSignedReading } from './charger.js';
import { type ReceiptSignatures, signedReceipt } from './messages.js';
import type { SessionRecord, SessionStore } from './store.js';

/** GI of every record: the software that signs it. */
export const RECEIPT_SIGNER_SOFTWARE = 'evauth-gateway';

type ClosingRecord = Pick<
  SessionRecord,
  'sid' | 'pid' | 'connector' | 'tid' | 'pricePerKWh' | 'currency' | 'startedAt' | 'chargerSigned'
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

export interface PileReceiptsOptions {
  pid: string;
  /** the pile's signing key from the keystore; without one its receipts carry no OCMF record */
  signingKey?: Uint8Array;
  store: SessionStore;
  log: Logger;
}

/** The receipts of one pile: the session.end payloads, MACed with SK and signed in OCMF. */
export class PileReceipts {
  private readonly options: PileReceiptsOptions;
  private readonly sign?: (payloadText: string) => string;

  constructor(options: PileReceiptsOptions) {
    this.options = options;
    if (options.signingKey) this.sign = createOcmfSigner(options.signingKey);
  }

  get signs(): boolean {
    return this.sign !== undefined;
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
  ): string {
    const signatures = this.signatures(record, wh, endedAtMs, chargerSigned);
    const payload = signedReceipt(signer, record, reason, wh, endedAtMs, signatures);
    const { meterOcmf, meterKey } = signatures;
    if (
      meterOcmf === undefined ||
      (meterOcmf.length <= MAX_RECEIPT_OCMF_CHARS &&
        (meterKey?.length ?? 0) <= MAX_RECEIPT_METER_KEY_CHARS &&
        Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES)
    )
      return payload;
    // The meter's record is the charger's to size: past what a receipt holds it stays on the session record only.
    this.options.log.warn(
      { sid: record.sid, chars: meterOcmf.length },
      "the charger meter's signed record does not fit the receipt; left out",
    );
    return signedReceipt(signer, record, reason, wh, endedAtMs, { ocmf: signatures.ocmf });
  }

  private signatures(
    record: ClosingRecord,
    wh: number,
    endedAtMs: number,
    chargerSigned: readonly ChargerSignedReading[] | undefined,
  ): ReceiptSignatures {
    if (!this.sign) return {};
    const meter = meterRecordOf(chargerSigned ?? storedReadings(record.chargerSigned));
    let ocmf: string;
    try {
      const { text } = buildReceiptOcmfPayload({
        pid: record.pid,
        connector: record.connector,
        tid: record.tid,
        gi: RECEIPT_SIGNER_SOFTWARE,
        pg: this.options.store.nextReceiptPage(record.pid),
        startedAt: unixSeconds(record.startedAt),
        endedAt: unixSeconds(endedAtMs),
        // the pile's register counts the session's energy from 0 (it has no meter of its own: MS is pid*connector)
        startWh: 0,
        endWh: wh,
      });
      ocmf = this.sign(text);
    } catch (error) {
      // The MACed receipt still goes out: the vehicle accepts it without the record (PROTOCOL §8a "where").
      this.options.log.error({ err: error, sid: record.sid }, 'cannot sign the OCMF receipt');
      return {};
    }
    return {
      ocmf,
      ...(meter ? { meterOcmf: meter.signedMeterData } : {}),
      ...(meter?.publicKey ? { meterKey: meter.publicKey } : {}),
    };
  }
}
