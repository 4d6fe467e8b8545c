/** A charging session as the gateway holds it while it runs, and the vocabulary around it. */
import type { AuthorizedSession, PileSession } from '../shared/index.js';
import type { ChargerController, ChargerEndReason } from './charger.js';
import type { OcmfIntermediateReading } from './ocmf-readings.js';
import type { SessionRecord } from './store.js';

export type Publish = (topic: string, payload: string, options?: { retain?: boolean }) => void;

export type EndReason =
  | ChargerEndReason
  | 'start-rejected'
  | 'start-timeout'
  | 'gateway-restart'
  | 'gateway-shutdown';

export interface ActiveSession {
  record: SessionRecord;
  signer: PileSession;
  charger: ChargerController;
  timer?: ReturnType<typeof setInterval>;
  /** when its auth.request arrived, for the latency histogram */
  requestedAt?: number;
  /** set while the charger confirms the stop; the session closes with its final reading */
  ending?: boolean;
  /** when the last reading was signed (pushed readings are signed at most every meterIntervalMs / 4) */
  lastSignedAt: number;
  /** how many charger-signed readings are on record */
  chargerSigned: number;
  /** the charger's binding as last stored (ChargerController.binding) */
  chargerBinding?: string;
  /** the intermediate readings for its OCMF record as stored (read from the record when first needed) */
  ocmfReadings?: OcmfIntermediateReading[];
}

/** The durable record of a session whose handshake just succeeded: open, nothing metered yet. */
export function openingRecord(pid: string, auth: AuthorizedSession): SessionRecord {
  return {
    sid: auth.sid,
    pid,
    connector: auth.connector,
    vid: auth.vid,
    tid: auth.tid,
    sk: auth.sk,
    maxWh: auth.maxWh ?? null,
    maxW: auth.offer.maxW,
    pricePerKWh: auth.offer.pricePerKWh,
    currency: auth.offer.currency,
    startedAt: auth.authorizedAt,
    meterSeq: 0,
    stopSeq: 0,
    lastWh: 0,
    lastW: 0,
    lastMeterAt: auth.authorizedAt,
    state: 'open',
    reason: null,
    endedAt: null,
    receipt: null,
    chargerSigned: null,
    chargerBinding: null,
    ocmfReadings: null,
  };
}
