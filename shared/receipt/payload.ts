/**
 * The payload a pile signs for one session (PROTOCOL §8a): OCMF 1.0 with the pile as gateway, the ticket as the
 * user's identification, the connector as charge point and its readings in kWh with Wh precision: at the start
 * (TX B), optionally some in between (TX T, signed intermediate readings, an extension OCMF allows) and at the
 * end (TX E).
 */
import * as v from 'valibot';
import { b64u16, id, uint } from '../messages/fields.js';
import { formatOcmfTime, OCMF_TIME_STATUSES, type OcmfTimeStatus } from './time.js';

/** OBIS code of the active energy import register: what every receipt reading is. */
export const RECEIPT_READING_OBIS = '1-b:1.8.0';

export interface ReceiptOcmfInput {
  pid: string;
  connector: number;
  /** the ticket's id: OCMF's identification (ID) with type CENTRAL */
  tid: string;
  /** GI: the signing software (e.g. "evauth-gateway") */
  gi: string;
  /** GV: its version, left out when absent */
  gv?: string;
  /** the pile's count of signed records: PG is "T<pg>" */
  pg: number;
  /** MS: the meter's serial; "{pid}*{connector}" where the pile has no meter of its own */
  meterSerial?: string;
  /** start and end of the session, Unix seconds (the receipt body's startedAt and endedAt) */
  startedAt: number;
  endedAt: number;
  /** the energy register at the start and the end, Wh */
  startWh: number;
  endWh: number;
  /**
   * readings taken while the session ran, written as TX T between B and E: at most
   * MAX_RECEIPT_INTERMEDIATE_READINGS, `at` (Unix seconds) and `wh` within the session's and non-decreasing
   */
  intermediate?: readonly { at: number; wh: number }[];
  /** the pile's local offset from UTC in minutes for TM (default 0, UTC) */
  tzOffset?: number;
  /** the pile clock's state for TM (default S, synchronised) */
  timeStatus?: OcmfTimeStatus;
}

export interface ReceiptOcmfReading {
  TM: string;
  TX: 'B' | 'T' | 'E';
  RV: number;
  RI: string;
  RU: 'kWh';
  ST: 'G';
}

/** The payload of §8a; its keys in this order are the order of the signed text. */
export interface ReceiptOcmfPayload {
  FV: '1.0';
  GI: string;
  GS: string;
  GV?: string;
  PG: string;
  MS: string;
  IS: true;
  IT: 'CENTRAL';
  ID: string;
  CI: string;
  /** B first, E last, any T between */
  RD: ReceiptOcmfReading[];
}

/**
 * The most intermediate readings one record holds. What binds is not the record's own limit
 * (MAX_RECEIPT_OCMF_CHARS, 6144) but session.end's body, at most 4096 characters, in which JSON escapes every
 * quote of the record: each reading takes about 130 characters there. At 16, with every field at its longest
 * (64-character pid, gi and gv made of quotes, the largest PG and registers) the body is about 3,700 characters,
 * the record about 2,800 (payload.test.ts builds it); at 20 that body would no longer fit.
 */
export const MAX_RECEIPT_INTERMEDIATE_READINGS = 16;

/** Every register below 10^15 Wh has at most 15 significant digits in kWh, which a double keeps exactly. */
export const MAX_REGISTER_WH = 999_999_999_999_999;
const register = v.pipe(uint, v.maxValue(MAX_REGISTER_WH));

/** Free text that goes into the payload: no `|` (it separates OCMF's sections) and no control characters. */
const label = v.pipe(v.string(), v.regex(/^[^|\p{Cc}]{1,64}$/u, 'must be 1-64 characters without "|"'));

/**
 * Why the intermediate readings do not fit between the start and the end ("intermediate[n].at: …"), if they do
 * not: each within the session, and neither time nor register going back.
 */
function intermediateProblem(i: {
  startedAt: number;
  endedAt: number;
  startWh: number;
  endWh: number;
  intermediate?: readonly { at: number; wh: number }[] | undefined;
}): string | undefined {
  let previous = { at: i.startedAt, wh: i.startWh };
  for (const [n, reading] of (i.intermediate ?? []).entries()) {
    const field = `intermediate[${n}]`;
    if (reading.at < i.startedAt || reading.at > i.endedAt)
      return `${field}.at: ${reading.at} is outside startedAt..endedAt (${i.startedAt}..${i.endedAt})`;
    if (reading.at < previous.at) return `${field}.at: ${reading.at} is before the reading before it`;
    if (reading.wh < i.startWh || reading.wh > i.endWh)
      return `${field}.wh: ${reading.wh} is outside startWh..endWh (${i.startWh}..${i.endWh})`;
    if (reading.wh < previous.wh) return `${field}.wh: ${reading.wh} is below the reading before it`;
    previous = reading;
  }
  return undefined;
}

const ReceiptOcmfInputSchema = v.pipe(
  v.object({
    pid: id,
    connector: v.pipe(uint, v.minValue(1), v.maxValue(0xffff)),
    tid: b64u16,
    gi: label,
    gv: v.optional(label),
    pg: uint,
    meterSerial: v.optional(label),
    startedAt: uint,
    endedAt: uint,
    startWh: register,
    endWh: register,
    tzOffset: v.optional(v.pipe(v.number(), v.integer())),
    timeStatus: v.optional(v.picklist(OCMF_TIME_STATUSES)),
    intermediate: v.optional(
      v.pipe(
        v.array(v.object({ at: uint, wh: register })),
        v.maxLength(
          MAX_RECEIPT_INTERMEDIATE_READINGS,
          `holds more than ${MAX_RECEIPT_INTERMEDIATE_READINGS} readings`,
        ),
      ),
    ),
  }),
  v.check((i) => i.endWh >= i.startWh, 'endWh is below startWh'),
  v.check((i) => i.endedAt >= i.startedAt, 'endedAt is before startedAt'),
  v.rawCheck(({ dataset, addIssue }) => {
    const problem = dataset.typed ? intermediateProblem(dataset.value) : undefined;
    if (problem) addIssue({ message: problem });
  }),
);

/** Wh as OCMF's RV in kWh: a JSON number with at most three decimals (100017 → 100.017, 120000 → 120). */
export function whToKWh(wh: number): number {
  // The quotient is the double nearest the decimal n/1000, and JSON prints the shortest text that reads back
  // as that double: exactly that decimal, as long as it has at most 15 significant digits (MAX_REGISTER_WH).
  return wh / 1000;
}

/**
 * The §8a payload of one session and its exact text (the bytes to sign). Throws RangeError naming the field when
 * an input is out of range: these come from the pile's own state, not from the wire.
 */
export function buildReceiptOcmfPayload(input: ReceiptOcmfInput): {
  payload: ReceiptOcmfPayload;
  text: string;
} {
  const checked = v.safeParse(ReceiptOcmfInputSchema, input);
  if (!checked.success) {
    const issue = checked.issues[0];
    const field = issue?.path?.map((p) => String(p.key)).join('.');
    throw new RangeError(`OCMF receipt: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid input'}`);
  }
  const i = checked.output;
  const chargePoint = `${i.pid}*${i.connector}`;
  const time = (unixSeconds: number) =>
    formatOcmfTime(unixSeconds * 1000, { offsetMinutes: i.tzOffset ?? 0, status: i.timeStatus ?? 'S' });
  const reading = (TX: ReceiptOcmfReading['TX'], at: number, wh: number): ReceiptOcmfReading => ({
    TM: time(at),
    TX,
    RV: whToKWh(wh),
    RI: RECEIPT_READING_OBIS,
    RU: 'kWh',
    ST: 'G',
  });
  const payload: ReceiptOcmfPayload = {
    FV: '1.0',
    GI: i.gi,
    GS: i.pid,
    ...(i.gv !== undefined ? { GV: i.gv } : {}),
    PG: `T${i.pg}`,
    MS: i.meterSerial ?? chargePoint,
    IS: true,
    IT: 'CENTRAL',
    ID: i.tid,
    CI: chargePoint,
    RD: [
      reading('B', i.startedAt, i.startWh),
      ...(i.intermediate ?? []).map((t) => reading('T', t.at, t.wh)),
      reading('E', i.endedAt, i.endWh),
    ],
  };
  return { payload, text: JSON.stringify(payload) };
}
