/**
 * The energy an OCMF record shows: from its start reading (TX B) to its end reading (TX E, or L R A P), with the
 * readings of the same register between them (intermediate ones, TX T and the like) rising with time.
 */
import { type OcmfResult, ocmfFail } from './errors.js';
import { OCMF_END_REASONS, type OcmfPayload, type OcmfReading } from './parse.js';
import { type OcmfTime, parseOcmfTime } from './time.js';

export interface EnergyReading {
  /** its place in RD */
  index: number;
  reading: OcmfReading;
  /** RV in whole Wh */
  wh: number;
  time: OcmfTime;
}

export interface OcmfEnergy {
  begin: EnergyReading;
  end: EnergyReading;
  /** end − begin, Wh */
  wh: number;
}

/** RV in whole Wh: kWh with at most three decimals, or Wh as a whole number; anything finer is refused. */
function readingWh(reading: OcmfReading, field: string): OcmfResult<number> {
  if (reading.RU === 'kWh') {
    const wh = Math.round(reading.RV * 1000);
    // The decimal with three places that RV's text named reads back as exactly this double (see whToKWh).
    if (!Number.isSafeInteger(wh) || wh / 1000 !== reading.RV)
      return ocmfFail('MALFORMED', `${field}.RV`, `${reading.RV} kWh is finer than whole Wh`);
    return { ok: true, value: wh };
  }
  if (reading.RU === 'Wh') {
    if (!Number.isSafeInteger(reading.RV))
      return ocmfFail('MALFORMED', `${field}.RV`, `${reading.RV} Wh is not a whole number`);
    return { ok: true, value: reading.RV };
  }
  return ocmfFail('MALFORMED', `${field}.RU`, `${reading.RU} is not an energy unit (kWh or Wh)`);
}

function energyReading(payload: OcmfPayload, index: number): OcmfResult<EnergyReading> {
  const reading = payload.RD[index]!;
  const field = `RD[${index}]`;
  const wh = readingWh(reading, field);
  if (!wh.ok) return wh;
  // The schema has checked TM already.
  const time = parseOcmfTime(reading.TM);
  if (!time) return ocmfFail('MALFORMED', `${field}.TM`, 'is not an OCMF time');
  return { ok: true, value: { index, reading, wh: wh.value, time } };
}

/**
 * The start reading (the first with TX B) and the end reading (the first after it with TX E, L, R, A or P and
 * the same RI, so a record of several registers pairs them right), in whole Wh.
 */
export function ocmfEnergy(payload: OcmfPayload): OcmfResult<OcmfEnergy> {
  const b = payload.RD.findIndex((r) => r.TX === 'B');
  if (b < 0) return ocmfFail('MALFORMED', 'RD', 'has no start reading (TX "B")');
  const beginReading = payload.RD[b]!;
  const e = payload.RD.findIndex(
    (r, i) => i > b && r.TX !== undefined && OCMF_END_REASONS.includes(r.TX) && r.RI === beginReading.RI,
  );
  if (e < 0) return ocmfFail('MALFORMED', 'RD', 'has no end reading (TX "E") after the start reading');
  const begin = energyReading(payload, b);
  if (!begin.ok) return begin;
  const end = energyReading(payload, e);
  if (!end.ok) return end;
  if (end.value.reading.RU !== begin.value.reading.RU)
    return ocmfFail('MALFORMED', `RD[${e}].RU`, `${end.value.reading.RU} differs from the start's unit`);
  if (end.value.wh < begin.value.wh)
    return ocmfFail('MALFORMED', `RD[${e}].RV`, 'is below the start reading');
  if (end.value.time.epochMs < begin.value.time.epochMs)
    return ocmfFail('MALFORMED', `RD[${e}].TM`, 'is before the start reading');
  const between = readingsBetween(payload, begin.value, end.value);
  if (!between.ok) return between;
  return { ok: true, value: { begin: begin.value, end: end.value, wh: end.value.wh - begin.value.wh } };
}

/**
 * The readings of the start's register between the start and the end: each within them and none going back,
 * neither in energy nor in time, so a record cannot show the register falling and rising again in between.
 */
function readingsBetween(payload: OcmfPayload, begin: EnergyReading, end: EnergyReading): OcmfResult<true> {
  let previous = begin;
  for (let i = begin.index + 1; i < end.index; i++) {
    if (payload.RD[i]!.RI !== begin.reading.RI) continue;
    const read = energyReading(payload, i);
    if (!read.ok) return read;
    const { wh, time } = read.value;
    if (wh < begin.wh || wh > end.wh)
      return ocmfFail('MALFORMED', `RD[${i}].RV`, 'is outside the start and end readings');
    if (wh < previous.wh)
      return ocmfFail('MALFORMED', `RD[${i}].RV`, `is below the reading before it (RD[${previous.index}])`);
    if (time.epochMs < previous.time.epochMs)
      return ocmfFail('MALFORMED', `RD[${i}].TM`, `is before the reading before it (RD[${previous.index}])`);
    if (time.epochMs > end.time.epochMs)
      return ocmfFail('MALFORMED', `RD[${i}].TM`, 'is after the end reading');
    previous = read.value;
  }
  return { ok: true, value: true };
}
