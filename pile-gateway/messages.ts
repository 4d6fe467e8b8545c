/** Messages the gateway builds itself around the shared state machines: receipts and the INTERNAL error. */
import {
  b64uDecode,
  b64uEncode,
  deriveErrorMac,
  type PileSession,
  type ReceiptBody,
  unixSeconds,
} from '../shared/index.js';
import { sessionCost } from './cost.js';
import type { SessionRecord } from './store.js';

/** What PROTOCOL §8a adds to a receipt body: the pile's OCMF record and the charger meter's own. */
export type ReceiptSignatures = Pick<ReceiptBody, 'ocmf' | 'meterOcmf' | 'meterKey'>;

/** The signed session.end payload for a record closing with `wh` at `endedAtMs`. */
export function signedReceipt(
  signer: PileSession,
  record: Pick<SessionRecord, 'pricePerKWh' | 'currency' | 'startedAt'>,
  reason: string,
  wh: number,
  endedAtMs: number,
  signatures: ReceiptSignatures = {},
): string {
  return JSON.stringify(
    signer.signReceipt({
      reason,
      wh,
      cost: sessionCost(wh, record.pricePerKWh),
      currency: record.currency,
      startedAt: unixSeconds(record.startedAt),
      endedAt: unixSeconds(endedAtMs),
      ...signatures,
    }),
  );
}

/** auth.error MACed with SK (it exists by then), so the vehicle knows the genuine pile said it. */
export function macedAuthError(
  sid: string,
  sk: Uint8Array,
  code: 'INTERNAL' | 'TIMEOUT' | 'CONNECTOR_BUSY' | 'RATE_LIMITED',
  message: string,
): string {
  return JSON.stringify({
    v: 1,
    type: 'auth.error',
    sid,
    code,
    message,
    mac: b64uEncode(deriveErrorMac(sk, b64uDecode(sid), code)),
  });
}

/** auth.error INTERNAL: the session could not be recorded. */
export function internalError(sid: string, sk: Uint8Array): string {
  return macedAuthError(sid, sk, 'INTERNAL', 'the pile cannot record the session now');
}
