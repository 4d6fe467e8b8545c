/**
 * One signed session.end (PROTOCOL §8, §8a) made from plain data: the OCMF record built, signed and put in the
 * receipt body, and the body MACed with SK. The receipt-signing thread (receipt-worker.ts) makes the receipts of
 * live sessions this way, off the event loop; the gateway's own thread makes them the same way where that thread
 * is not there or must not be waited for (a shutdown, a restart's recovery).
 */
import {
  buildReceiptOcmfPayload,
  decodeBody,
  decodeMessage,
  PileSession,
  ReceiptBody,
  type ReceiptOcmfInput,
  SessionEnd,
  unixSeconds,
} from '../shared/index.js';
import { type ReceiptSignatures, signedReceipt } from './messages.js';

/** GI of every record: the software that signs it. */
export const RECEIPT_SIGNER_SOFTWARE = 'evauth-gateway';

/** Everything one session.end takes, as data that can cross to another thread. */
export interface ReceiptJob {
  sid: string;
  sk: Uint8Array;
  pid: string;
  connector: number;
  tid: string;
  pricePerKWh: string;
  currency: string;
  /** ms */
  startedAt: number;
  reason: string;
  wh: number;
  endedAtMs: number;
  /** the record's PG, taken on the gateway's thread so that a pile's receipts count up in the order they end */
  pg: number;
  /** TX T readings kept on the session record */
  intermediate: { atMs: number; wh: number }[];
  /** the charger meter's own signed record, to go along untouched */
  meter?: { signedMeterData: string; publicKey?: string };
}

/** What the gateway logs about one receipt (a thread has no logger of its own). */
export interface ReceiptNote {
  level: 'warn' | 'error';
  msg: string;
  err?: string;
  chars?: number;
  keyChars?: number;
}

export interface MadeReceipt {
  payload: string;
  /** false: the receipt went without its OCMF record (it could not be built or signed); its PG is unused */
  signed: boolean;
  notes: ReceiptNote[];
}

/** Whether a vehicle reads this session.end as one: its body within 4096 characters, each record within its own. */
function readsAsReceipt(payload: string): boolean {
  const message = decodeMessage(SessionEnd, payload);
  return message.ok && decodeBody(ReceiptBody, message.value.body).ok;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The OCMF payload text; intermediate readings that do not fit between its start and end (a clock that stepped
 * back, a damaged session record) are left out rather than the whole record.
 */
function payloadText(input: ReceiptOcmfInput, notes: ReceiptNote[]): string {
  if (!input.intermediate?.length) return buildReceiptOcmfPayload(input).text;
  try {
    return buildReceiptOcmfPayload(input).text;
  } catch (error) {
    notes.push({
      level: 'warn',
      msg: 'intermediate readings left out of the OCMF receipt',
      err: messageOf(error),
    });
    return buildReceiptOcmfPayload({ ...input, intermediate: [] }).text;
  }
}

/**
 * The session.end of a job, its OCMF record signed with `sign` (the pile's key). Where the record cannot be built
 * or signed, the MACed receipt still goes out without it (the vehicle accepts that: PROTOCOL §8a "where").
 */
export function makeSessionEnd(job: ReceiptJob, sign: (payloadText: string) => string): MadeReceipt {
  const notes: ReceiptNote[] = [];
  const signer = new PileSession({ sid: job.sid, sk: job.sk, meterSeq: 0, stopSeq: 0 });
  const receipt = (signatures: ReceiptSignatures = {}) =>
    signedReceipt(signer, job, job.reason, job.wh, job.endedAtMs, signatures);
  let ocmf: string;
  try {
    ocmf = sign(
      payloadText(
        {
          pid: job.pid,
          connector: job.connector,
          tid: job.tid,
          gi: RECEIPT_SIGNER_SOFTWARE,
          pg: job.pg,
          startedAt: unixSeconds(job.startedAt),
          endedAt: unixSeconds(job.endedAtMs),
          // the pile's register counts the session's energy from 0 (it has no meter of its own: MS is pid*connector)
          startWh: 0,
          endWh: job.wh,
          intermediate: job.intermediate.map((r) => ({ at: unixSeconds(r.atMs), wh: r.wh })),
        },
        notes,
      ),
    );
  } catch (error) {
    notes.push({ level: 'error', msg: 'cannot sign the OCMF receipt', err: messageOf(error) });
    return { payload: receipt(), signed: false, notes };
  }
  const { meter } = job;
  if (!meter) return { payload: receipt({ ocmf }), signed: true, notes };
  const payload = receipt({
    ocmf,
    meterOcmf: meter.signedMeterData,
    ...(meter.publicKey ? { meterKey: meter.publicKey } : {}),
  });
  if (readsAsReceipt(payload)) return { payload, signed: true, notes };
  // The meter's record is the charger's to size: past what a receipt holds it stays on the session record only.
  notes.push({
    level: 'warn',
    msg: "the charger meter's signed record does not fit the receipt; left out",
    chars: meter.signedMeterData.length,
    ...(meter.publicKey ? { keyChars: meter.publicKey.length } : {}),
  });
  return { payload: receipt({ ocmf }), signed: true, notes };
}
