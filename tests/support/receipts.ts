/** Test support: what the tests read off a receipt the car accepted. Not used in production code. */
import type { VerifiedReceipt } from '../../head-unit/vehicle/index.js';
import { parseOcmf } from '../../shared/index.js';

/** The number in a receipt's OCMF pagination (PG "T<n>", PROTOCOL §8a). */
export function receiptPage(receipt: VerifiedReceipt): number {
  const parsed = parseOcmf(receipt.ocmf ?? '');
  if (!parsed.ok) throw new Error(parsed.message);
  return Number(parsed.value.payload.PG.slice(1));
}
