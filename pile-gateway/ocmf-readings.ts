/**
 * Signed intermediate readings for a session's OCMF record (TX T, config ocmfReadingIntervalMs): taken from the
 * signed meter readings while the session runs, kept on the session record (JSON) so a session closed after a
 * restart still carries them, at most MAX_RECEIPT_INTERMEDIATE_READINGS.
 */
import { MAX_RECEIPT_INTERMEDIATE_READINGS } from '../shared/index.js';

/** One signed meter reading kept for the record: when (Unix ms) and the register (Wh) it showed. */
export interface OcmfIntermediateReading {
  atMs: number;
  wh: number;
}

const isReading = (value: unknown): value is OcmfIntermediateReading =>
  typeof value === 'object' &&
  value !== null &&
  Number.isSafeInteger((value as OcmfIntermediateReading).atMs) &&
  Number.isSafeInteger((value as OcmfIntermediateReading).wh);

/** The readings kept on a session record, or none where there are none or they are unreadable. */
export function storedOcmfReadings(json: string | null): OcmfIntermediateReading[] {
  if (json === null) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter(isReading).slice(0, MAX_RECEIPT_INTERMEDIATE_READINGS) : [];
  } catch {
    return [];
  }
}

/**
 * The session's readings with this signed one added, where it is due: at least `intervalMs` after the session's
 * start or the previous one, and the record has room. Undefined where it is not.
 */
export function withDueReading(
  readings: readonly OcmfIntermediateReading[],
  intervalMs: number | undefined,
  startedAt: number,
  reading: OcmfIntermediateReading,
): OcmfIntermediateReading[] | undefined {
  if (intervalMs === undefined || readings.length >= MAX_RECEIPT_INTERMEDIATE_READINGS) return undefined;
  const since = readings.at(-1)?.atMs ?? startedAt;
  return reading.atMs - since >= intervalMs ? [...readings, reading] : undefined;
}
