/**
 * `evauth-cloud verify-receipt`: checks signed receipts (PROTOCOL §8a, OCMF) against a pile's public key and says
 * what each shows. Anyone holding the key can do this; it stores nothing.
 */
import { type OcmfPublicKey, verifyOcmfOpenSsl } from '../node/receipt-signing.js';
import {
  type OcmfEnergy,
  type OcmfFailure,
  ocmfEnergy,
  ocmfFail,
  type ParsedOcmf,
  parseOcmf,
} from '../shared/index.js';
import { directoryEntry } from './pile-topics.js';
import { type Registry, RegistryError } from './registry.js';

/** A file of receipts is read whole; this bounds it (some 4,000 records of 4 KiB). */
export const MAX_RECEIPT_FILE_BYTES = 16 * 1024 * 1024;

/** The pile's public signing key as its directory entry publishes it. */
export async function registeredSignKey(registry: Registry, pid: string): Promise<string> {
  const { signKey } = directoryEntry(await registry.requirePile(pid));
  if (signKey === undefined)
    throw new RegistryError('NOT_FOUND', `pile ${pid} has no signing key registered`);
  return signKey;
}

export interface OcmfRecordText {
  /** the line the record starts on, from 1 */
  line: number;
  ocmf: string;
}

/**
 * The records of a file: each starts on a line that begins with "OCMF|" and runs to the next one, so a record
 * pretty-printed over several lines (OCMF allows it) stays whole. Blank lines between records are skipped;
 * anything else before the first record is returned as `stray`.
 */
export function splitOcmfRecords(text: string): { records: OcmfRecordText[]; stray?: number } {
  const lines = text.split('\n');
  const records: OcmfRecordText[] = [];
  let stray: number | undefined;
  lines.forEach((line, i) => {
    const current = records.at(-1);
    if (line.startsWith('OCMF|')) records.push({ line: i + 1, ocmf: line });
    else if (current) current.ocmf += `\n${line}`;
    else if (line.trim() !== '' && stray === undefined) stray = i + 1;
  });
  // Only the signature section can end in line breaks or spaces, and it is not signed.
  for (const record of records) record.ocmf = record.ocmf.trimEnd();
  return stray === undefined ? { records } : { records, stray };
}

export interface ReceiptVerdict {
  line: number;
  /** what the record shows, where it could be read (also when its signature does not verify) */
  record?: ParsedOcmf;
  energy?: OcmfEnergy;
  /** why it is refused; absent when it verified */
  failure?: OcmfFailure;
}

/** Who signed a record, for its pagination: the pile (GS), or the meter where a record names no pile. */
const signerOf = (record: ParsedOcmf) => record.payload.GS ?? record.payload.MS;

/**
 * Each record verified under `key`: signature, a start and an end reading, the pile when `pid` is given, and
 * among several records of one pile a pagination (PG) that rises from each to the next.
 */
export function verifyReceipts(
  records: readonly OcmfRecordText[],
  key: OcmfPublicKey,
  options: { pid?: string } = {},
): ReceiptVerdict[] {
  const lastPage = new Map<string, { page: number; line: number }>();
  return records.map(({ line, ocmf }): ReceiptVerdict => {
    const verified = verifyOcmfOpenSsl(ocmf, key);
    if (!verified.ok) {
      const parsed = parseOcmf(ocmf);
      return parsed.ok ? { line, record: parsed.value, failure: verified } : { line, failure: verified };
    }
    const record = verified.value;
    const energy = ocmfEnergy(record.payload);
    if (!energy.ok) return { line, record, failure: energy };
    const verdict = { line, record, energy: energy.value };
    if (options.pid !== undefined && record.payload.GS !== options.pid)
      return {
        ...verdict,
        failure: ocmfFail(
          'WRONG_CHARGE_POINT',
          'GS',
          `is ${record.payload.GS ?? 'absent'}, not pile ${options.pid}`,
        ),
      };
    const signer = signerOf(record);
    const page = Number(record.payload.PG.slice(1));
    const last = lastPage.get(signer);
    if (last && page <= last.page)
      return {
        ...verdict,
        failure: ocmfFail(
          'MALFORMED',
          'PG',
          `T${page} is not above T${last.page} of ${signer}'s record on line ${last.line}`,
        ),
      };
    lastPage.set(signer, { page, line });
    return verdict;
  });
}

const kWh = (wh: number) => `${(wh / 1000).toFixed(3)} kWh`;

/** The report a person reads: each record's fields and its verdict, then a count. */
export function describeReceipts(verdicts: readonly ReceiptVerdict[]): string[] {
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`  ${label.padEnd(16)} ${value}`);
  verdicts.forEach((verdict, i) => {
    out.push(`record ${i + 1} (line ${verdict.line})`);
    const p = verdict.record?.payload;
    if (p && verdict.record) {
      row(
        'pile',
        [p.GS, p.GI && `(${[p.GI, p.GV].filter(Boolean).join(' ')})`].filter(Boolean).join(' ') || '-',
      );
      row('meter serial', p.MS);
      row('identification', `${p.ID ?? '-'} (${p.IT}${p.IS ? '' : ', not assigned'})`);
      row('charge point', p.CI ?? '-');
      row('pagination', p.PG);
      p.RD.forEach((r, n) => {
        row(`reading ${r.TX ?? n + 1}`, `${r.TM}  ${r.RV} ${r.RU}`);
      });
      if (verdict.energy) row('energy', kWh(verdict.energy.wh));
      row('algorithm', verdict.record.algorithm.name);
    }
    out.push(verdict.failure ? `  INVALID: ${verdict.failure.message}` : '  signature valid');
  });
  const invalid = verdicts.filter((v) => v.failure).length;
  const count = `${verdicts.length} record${verdicts.length === 1 ? '' : 's'}`;
  out.push(
    invalid ? `${count}: ${verdicts.length - invalid} valid, ${invalid} INVALID` : `${count}: all valid`,
  );
  return out;
}
