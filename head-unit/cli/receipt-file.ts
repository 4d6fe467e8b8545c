/**
 * The headless client's kept receipts: a JSON file (mode 0600, written atomically) beside its credentials file,
 * with every receipt the vehicle accepted, and the export of their OCMF records (PROTOCOL §8a) as files anyone
 * can check with `evauth-cloud verify-receipt` or any OCMF transparency software.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { VerifiedReceipt } from '../vehicle/index.js';

/** The newest receipts kept; older ones go (a car's year of charging fits many times). */
export const MAX_KEPT_RECEIPTS = 10_000;

export interface KeptReceipt {
  vid: string;
  pid: string;
  connector: number;
  sid: string;
  reason: string;
  wh: number;
  cost: string;
  currency: string;
  startedAt: number;
  endedAt: number;
  /** the pile's OCMF record, where it sent one */
  ocmf?: string;
  /** whether the record verified under the pile's signKey from the credential */
  signedByCharger: boolean;
}

/** Where the receipts of a credentials file are kept: receipts.json in the same folder. */
export function receiptFileBeside(credentialsFile: string): string {
  return path.join(path.dirname(credentialsFile), 'receipts.json');
}

export class ReceiptFile {
  constructor(readonly file: string) {}

  /** The kept receipts, oldest first; none if the file is missing or unreadable. */
  list(vid?: string): KeptReceipt[] {
    let value: unknown;
    try {
      value = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return [];
    }
    const receipts = (value as { receipts?: unknown })?.receipts;
    if (!Array.isArray(receipts)) return [];
    return (receipts as KeptReceipt[]).filter((r) => vid === undefined || r.vid === vid);
  }

  /** Keeps one accepted receipt. */
  add(vid: string, accepted: VerifiedReceipt): KeptReceipt {
    const r = accepted.receipt;
    const kept: KeptReceipt = {
      vid,
      pid: accepted.pid,
      connector: accepted.connector,
      sid: accepted.sid,
      reason: r.reason,
      wh: r.wh,
      cost: r.cost,
      currency: r.currency,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      ...(accepted.ocmf !== undefined ? { ocmf: accepted.ocmf } : {}),
      signedByCharger: accepted.signedByCharger,
    };
    const receipts = [...this.list(), kept].slice(-MAX_KEPT_RECEIPTS);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify({ v: 1, receipts }, null, 2), { mode: 0o600 });
    fs.renameSync(temp, this.file);
    return kept;
  }
}

/** The file name of a receipt's OCMF record: pile, end time and session (all safe in a file name). */
export function ocmfFileName(receipt: KeptReceipt): string {
  const ended = new Date(receipt.endedAt * 1000).toISOString().replace(/[:.]/g, '-');
  return `${receipt.pid}_${ended}_${receipt.sid}.ocmf`;
}

/** Writes each receipt's OCMF record to `dir` as one file; returns the files written. */
export function exportOcmf(receipts: readonly KeptReceipt[], dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const receipt of receipts) {
    if (receipt.ocmf === undefined) continue;
    const file = path.join(dir, ocmfFileName(receipt));
    fs.writeFileSync(file, `${receipt.ocmf}\n`);
    written.push(file);
  }
  return written;
}
