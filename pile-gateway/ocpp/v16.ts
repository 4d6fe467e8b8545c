/**
 * OCPP 1.6-J on the gateway's side (central system role): BootNotification, Heartbeat, StatusNotification,
 * Authorize, StartTransaction, MeterValues and StopTransaction in; RemoteStartTransaction and
 * RemoteStopTransaction out. Connector N is the pile's connector N; the idTag is the ticket id's first 20
 * characters; the gateway numbers the transactions.
 */
import { randomInt } from 'node:crypto';
import type { OcppCharger } from './charger.js';
import {
  ACKNOWLEDGED,
  endReasonOf,
  isoNow,
  type MeterSummary,
  notImplemented,
  type OcppConnection,
  type Sample,
  summarizeSamples,
  toBaseUnit,
} from './protocol.js';
import type { OcppStation, StationCommands } from './station.js';

interface SampledValue16 {
  value: string;
  context?: string;
  format?: 'Raw' | 'SignedData';
  measurand?: string;
  phase?: string;
  unit?: string;
}

interface MeterValue16 {
  timestamp: string;
  sampledValue: SampledValue16[];
}

/** Status → what it says of the cable (Preparing: plugged in and waiting for authorisation). */
// Reserved and Unavailable say nothing of the cable (a car may stand there): its last known state is kept.
const STATUS: Record<string, { plugged?: boolean; faulted: boolean; unavailable: boolean }> = {
  Available: { plugged: false, faulted: false, unavailable: false },
  Preparing: { plugged: true, faulted: false, unavailable: false },
  Charging: { plugged: true, faulted: false, unavailable: false },
  SuspendedEV: { plugged: true, faulted: false, unavailable: false },
  SuspendedEVSE: { plugged: true, faulted: false, unavailable: false },
  // The transaction is over but the cable still in: the next car needs the cable out and in again.
  Finishing: { plugged: true, faulted: false, unavailable: true },
  Reserved: { faulted: false, unavailable: true },
  Unavailable: { faulted: false, unavailable: true },
  Faulted: { plugged: false, faulted: true, unavailable: false },
};

/** 1.6 sends numbers as text; a SignedData value is the meter's signed reading, not a number. */
function readMeterValues16(meterValues: MeterValue16[] | undefined): MeterSummary {
  return summarizeSamples(
    (meterValues ?? []).flatMap((mv) =>
      mv.sampledValue.map((sv): Sample => {
        const at = { timestamp: mv.timestamp, ...(sv.context ? { context: sv.context } : {}) };
        if (sv.format === 'SignedData') return { ...at, signed: { signedMeterData: sv.value } };
        return {
          ...at,
          ...(sv.measurand ? { measurand: sv.measurand } : {}),
          ...(sv.phase !== undefined ? { phase: sv.phase } : {}),
          value: toBaseUnit(Number.parseFloat(sv.value), sv.unit),
        };
      }),
    ),
  );
}

/** The connector that runs a transaction (StopTransaction and MeterValues may name only the transaction). */
function chargerOf(
  station: OcppStation,
  transactionId: string,
  connectorId?: number,
): OcppCharger | undefined {
  if (connectorId !== undefined && connectorId > 0) return station.chargers.get(connectorId);
  return [...station.chargers.values()].find((c) => c.ownsTransaction(transactionId));
}

export function attachV16(connection: OcppConnection, station: OcppStation): void {
  connection.handle('BootNotification', async () => ({
    status: 'Accepted',
    currentTime: isoNow(),
    interval: station.heartbeatS,
  }));
  connection.handle('Heartbeat', async () => ({ currentTime: isoNow() }));
  connection.handle('StatusNotification', async ({ params }) => {
    const p = params as { connectorId: number; status: string };
    const status = STATUS[p.status];
    if (status) station.chargers.get(p.connectorId)?.reportStatus(status);
    return {};
  });
  connection.handle('Authorize', async ({ params }) => {
    const { idTag } = params as { idTag: string };
    const ours = [...station.chargers.values()].some((c) => c.acceptsToken(idTag));
    return { idTagInfo: { status: ours ? 'Accepted' : 'Invalid' } };
  });
  connection.handle('StartTransaction', async ({ params }) => {
    const p = params as { connectorId: number; idTag: string; meterStart: number };
    const proposed = randomInt(1, 2 ** 31 - 1);
    const charger = station.chargers.get(p.connectorId);
    const begun = charger?.beginTransaction(p.idTag, p.meterStart, String(proposed));
    const transactionId = begun === undefined ? proposed : Number(begun);
    const accepted = begun !== undefined;
    if (!accepted) {
      // A start this gateway did not ask for: refused, and stopped should the station charge anyway.
      station.log.warn(
        { connectorId: p.connectorId },
        'refused a StartTransaction the gateway did not ask for',
      );
      charger?.reportTransaction({ transactionId: String(transactionId), token: p.idTag, charging: true });
    }
    return { transactionId, idTagInfo: { status: accepted ? 'Accepted' : 'Invalid' } };
  });
  connection.handle('MeterValues', async ({ params }) => {
    const p = params as { connectorId: number; transactionId?: number; meterValue: MeterValue16[] };
    if (p.transactionId === undefined) return {};
    const id = String(p.transactionId);
    const meter = readMeterValues16(p.meterValue);
    chargerOf(station, id, p.connectorId)?.reportTransaction({
      transactionId: id,
      charging: true,
      ...(meter.registerWh !== undefined ? { registerWh: meter.registerWh } : {}),
      ...(meter.w !== undefined ? { w: meter.w } : {}),
      ...(meter.signed.length > 0 ? { signed: meter.signed } : {}),
    });
    return {};
  });
  connection.handle('StopTransaction', async ({ params }) => {
    const p = params as {
      transactionId: number;
      meterStop: number;
      reason?: string;
      transactionData?: MeterValue16[];
    };
    const id = String(p.transactionId);
    const meter = readMeterValues16(p.transactionData);
    chargerOf(station, id)?.reportTransaction({
      transactionId: id,
      registerWh: p.meterStop,
      w: 0,
      charging: false,
      ...(meter.signed.length > 0 ? { signed: meter.signed } : {}),
      ended: endReasonOf(p.reason ?? 'Local'),
    });
    return {};
  });
  connection.handle(async ({ method }) => {
    const ack = method ? ACKNOWLEDGED[method] : undefined;
    if (method === 'DataTransfer') return { status: 'UnknownVendorId' };
    return ack ?? notImplemented(method);
  });
}

export function v16Commands(connection: OcppConnection, startTimeoutMs: number): StationCommands {
  return {
    async requestStart(connector, token) {
      const answer = (await connection.call(
        'RemoteStartTransaction',
        { idTag: token, connectorId: connector },
        { callTimeoutMs: startTimeoutMs },
      )) as { status: string };
      return { accepted: answer.status === 'Accepted' };
    },
    async requestStop(_connector, transactionId) {
      const answer = (await connection.call('RemoteStopTransaction', {
        transactionId: Number(transactionId),
      })) as { status: string };
      return answer.status === 'Accepted';
    },
  };
}
