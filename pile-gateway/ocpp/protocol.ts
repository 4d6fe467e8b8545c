/**
 * What the two OCPP versions share on the gateway's side: the connection type (ocpp-rpc's client, whose strict
 * mode has already checked every CALL against the version's JSON schema before a handler sees it), units, and
 * the calls a CSMS acknowledges without acting on them.
 */
import { createRPCError, type RPCClient } from 'ocpp-rpc';
import type { ChargerEndReason, ChargerSignedReading } from '../charger.js';

export type OcppConnection = RPCClient;

/** Handlers get params the library validated against the schema of the agreed subprotocol. */
export type Params = Record<string, unknown>;

/** A value in Wh or W from an OCPP unit ('Wh', 'kWh', 'W', 'kW', with a 2.0.1 power-of-ten multiplier). */
export function toBaseUnit(value: number, unit: string | undefined, multiplier = 0): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  const scaled = value * 10 ** multiplier;
  switch (unit ?? '') {
    case '':
    case 'Wh':
    case 'W':
      return scaled;
    case 'kWh':
    case 'kW':
      return scaled * 1000;
    default:
      return undefined;
  }
}

/** One sampled value, as either version gives it: `value` already in Wh or W (undefined: not a reading). */
export interface Sample {
  timestamp: string;
  context?: string;
  measurand?: string;
  phase?: string;
  value?: number;
  signed?: Omit<ChargerSignedReading, 'timestamp' | 'context'>;
}

export interface MeterSummary {
  /** the highest energy register in the message, Wh */
  registerWh?: number;
  w?: number;
  signed: ChargerSignedReading[];
}

/** The register, the power and the signed readings of a message's sampled values. */
export function summarizeSamples(samples: Iterable<Sample>): MeterSummary {
  let registerWh: number | undefined;
  let w: number | undefined;
  const signed: ChargerSignedReading[] = [];
  for (const sample of samples) {
    if (sample.signed) {
      signed.push({
        timestamp: sample.timestamp,
        ...(sample.context ? { context: sample.context } : {}),
        ...sample.signed,
      });
    }
    // A phase's share is not the total.
    if (sample.phase !== undefined || sample.value === undefined) continue;
    const measurand = sample.measurand ?? 'Energy.Active.Import.Register';
    if (measurand === 'Energy.Active.Import.Register')
      registerWh = Math.max(registerWh ?? sample.value, sample.value);
    else if (measurand === 'Power.Active.Import') w = sample.value;
  }
  return { ...(registerWh !== undefined ? { registerWh } : {}), ...(w !== undefined ? { w } : {}), signed };
}

/** Calls a station may send that need no action, answered as the schema wants. */
export const ACKNOWLEDGED: Record<string, Record<string, unknown>> = {
  // 2.0.1
  NotifyEvent: {},
  NotifyReport: {},
  SecurityEventNotification: {},
  MeterValues: {},
  FirmwareStatusNotification: {},
  LogStatusNotification: {},
  NotifyMonitoringReport: {},
  // 1.6 (MeterValues and FirmwareStatusNotification as above)
  DiagnosticsStatusNotification: {},
};

/** Any other call: the OCPP error NotImplemented (strict mode answered malformed ones already). */
export function notImplemented(method: string | undefined): never {
  throw createRPCError('NotImplemented', `${method ?? 'this call'} is not handled by this CSMS`);
}

/** The receipt's reason for a transaction the station ended. */
export function endReasonOf(stoppedReason: string | undefined): ChargerEndReason {
  switch (stoppedReason) {
    case 'Remote':
      return 'stopped';
    case 'EVDisconnected':
      return 'unplugged';
    case 'EnergyLimitReached':
      return 'energy-cap';
    case 'EmergencyStop':
    case 'GroundFault':
    case 'OvercurrentFault':
    case 'PowerLoss':
    case 'PowerQuality':
      return 'fault';
    default:
      return 'charger-stopped';
  }
}

export function isoNow(): string {
  return new Date().toISOString();
}
