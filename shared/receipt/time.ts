/**
 * OCMF's reading time (TM, table 7): `YYYY-MM-DDThh:mm:ss,fff+hhmm S`, local time with its UTC offset and, after
 * a space, the clock's synchronisation state (table 19).
 */

/** U unknown/unsynchronised, I informative, S synchronised, R relative to a calibrated clock */
export const OCMF_TIME_STATUSES = ['U', 'I', 'S', 'R'] as const;
export type OcmfTimeStatus = (typeof OCMF_TIME_STATUSES)[number];

export interface OcmfTime {
  /** the instant, as Unix milliseconds */
  epochMs: number;
  /** the local offset from UTC in minutes (east positive) */
  offsetMinutes: number;
  status: OcmfTimeStatus;
}

const MAX_OFFSET_MINUTES = 23 * 60 + 59;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * The TM text of an instant (Unix milliseconds) as local time at `offsetMinutes` from UTC (default UTC), with the
 * clock's state (default S: a pile's clock is kept in sync). Throws RangeError on a value TM cannot hold.
 */
export function formatOcmfTime(
  epochMs: number,
  options: { offsetMinutes?: number; status?: OcmfTimeStatus } = {},
): string {
  const offset = options.offsetMinutes ?? 0;
  const status = options.status ?? 'S';
  if (!Number.isInteger(offset) || Math.abs(offset) > MAX_OFFSET_MINUTES)
    throw new RangeError(`OCMF time: offset must be whole minutes within ±23:59, got ${offset}`);
  if (!(OCMF_TIME_STATUSES as readonly string[]).includes(status))
    throw new RangeError(`OCMF time: status must be one of U I S R, got ${status}`);
  if (!Number.isSafeInteger(epochMs)) throw new RangeError(`OCMF time: ${epochMs} is not whole milliseconds`);
  const local = new Date(epochMs + offset * 60_000);
  const year = local.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999)
    throw new RangeError(`OCMF time: ${epochMs} is outside the years 0000-9999`);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${pad(year, 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}` +
    `T${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}` +
    `,${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60), 2)}${pad(abs % 60, 2)} ${status}`
  );
}

const TM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}),(\d{3})([+-])(\d{2})(\d{2}) ([UISR])$/;

/** The instant a TM text names, or undefined when it is not exactly of that form or not a real date and time. */
export function parseOcmfTime(text: string): OcmfTime | undefined {
  const m = TM.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, ms, , offH, offM] = m.slice(1, 11).map(Number) as number[];
  if (hour! > 23 || minute! > 59 || second! > 59 || offM! > 59) return undefined;
  const local = new Date(0);
  local.setUTCFullYear(year!, month! - 1, day!);
  local.setUTCHours(hour!, minute!, second!, ms!);
  // Date rolls 31 February over into March: a day or month that moved was not a real one.
  if (local.getUTCMonth() !== month! - 1 || local.getUTCDate() !== day!) return undefined;
  const offsetAbs = offH! * 60 + offM!;
  const offsetMinutes = m[8] === '-' ? 0 - offsetAbs : offsetAbs; // 0 - 0 is +0: "-0000" is UTC too
  return {
    epochMs: local.getTime() - offsetMinutes * 60_000,
    offsetMinutes,
    status: m[11] as OcmfTimeStatus,
  };
}
