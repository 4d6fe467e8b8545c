/** The vocabulary of an OCPP connector: its station link, timings, transactions and sessions (charger.ts). */
import * as v from 'valibot';
import type { ChargerEndReason, ChargerReading, ChargerSignedReading } from '../charger.js';

/** The two remote commands, in the station's protocol version (v201.ts, v16.ts). */
export interface StationCommands {
  requestStart(
    connector: number,
    token: string,
    remoteStartId: number,
  ): Promise<{ accepted: boolean; transactionId?: string }>;
  requestStop(connector: number, transactionId: string): Promise<boolean>;
}

/** What a charger needs of its station: whether it is connected, and the two remote commands. */
export interface StationLink extends StationCommands {
  readonly online: boolean;
  readonly protocol: 'ocpp2.0.1' | 'ocpp1.6' | undefined;
}

export interface OcppTimings {
  /** the vehicle's answer is due by then (TIMEOUT otherwise) */
  answerWithinMs: number;
  /** a stop waits this long for the station's final reading */
  stopTimeoutMs: number;
  /** a session's station may be away this long before it ends with reason charger-offline */
  offlineGraceMs: number;
}

/** A transaction the station reported on this connector, ours or not. */
export interface Transaction {
  id: string;
  registerWh?: number;
  w: number;
  charging: boolean;
  /** seqNo of the 2.0.1 events applied, so a queued event sent again is not counted twice */
  seqNos: Set<number>;
  ended: boolean;
  /** no session owns it and it charged, carried a foreign token or outlived its session: it must stop */
  mustStop?: boolean;
  /** a stop was asked for it (once per connection) */
  stopAsked?: boolean;
}

/** The evauth session this connector serves. */
export interface Session {
  sid: string;
  /** idToken (2.0.1) or idTag (1.6) the start was requested with */
  token: string;
  remoteStartId: number;
  accepted: boolean;
  /** the vehicle was told no (refusal, timeout) or the session ended: nothing may charge for it */
  cancelled: boolean;
  tx?: Transaction;
  startRegisterWh?: number;
  signed: ChargerSignedReading[];
  graceTimer?: ReturnType<typeof setTimeout>;
  /** resolves the pile's deenergize() with the final reading */
  onEnded?: (reading: ChargerReading) => void;
  endedReading?: ChargerReading;
}

/** What one report from the station says about a transaction (protocol-neutral). */
export interface TransactionReport {
  transactionId: string;
  /** 2.0.1 seqNo (absent in 1.6) */
  seqNo?: number;
  token?: string;
  remoteStartId?: number;
  registerWh?: number;
  w?: number;
  charging?: boolean;
  plugged?: boolean;
  signed?: ChargerSignedReading[];
  ended?: ChargerEndReason;
}

export const MAX_SIGNED = 64;
export const MAX_SEQNOS = 10_000;

/** OCPP idTokens are case-insensitive. */
export function sameToken(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}

export function newTransaction(id: string): Transaction {
  return { id, w: 0, charging: false, seqNos: new Set(), ended: false };
}

/**
 * What a restarted gateway needs to take a session back (stored with the session record): the station's
 * transaction, the register at its start (energy is the rise since), and the token it was started with.
 */
const BindingSchema = v.object({
  tx: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  startWh: v.pipe(v.number(), v.finite(), v.minValue(0)),
  token: v.pipe(v.string(), v.maxLength(64)),
});

export type SessionBinding = v.InferOutput<typeof BindingSchema>;

export function bindingOf(session: Session): string | undefined {
  if (!session.accepted || !session.tx || session.startRegisterWh === undefined) return undefined;
  const binding: SessionBinding = {
    tx: session.tx.id,
    startWh: session.startRegisterWh,
    token: session.token,
  };
  return JSON.stringify(binding);
}

/** The accepted session a stored binding describes, or undefined when it is not one (nothing to resume). */
export function resumedSession(
  sid: string,
  binding: string,
  signed: readonly ChargerSignedReading[],
): Session | undefined {
  let parsed: v.SafeParseResult<typeof BindingSchema>;
  try {
    parsed = v.safeParse(BindingSchema, JSON.parse(binding));
  } catch {
    return undefined;
  }
  if (!parsed.success) return undefined;
  return {
    sid,
    token: parsed.output.token,
    remoteStartId: 0,
    accepted: true,
    cancelled: false,
    tx: newTransaction(parsed.output.tx),
    startRegisterWh: parsed.output.startWh,
    signed: signed.slice(0, MAX_SIGNED),
  };
}
