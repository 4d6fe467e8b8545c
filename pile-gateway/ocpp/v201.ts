/**
 * OCPP 2.0.1 on the gateway's side (CSMS role): BootNotification, Heartbeat, StatusNotification, Authorize and
 * TransactionEvent in; RequestStartTransaction and RequestStopTransaction out. EVSE N is the pile's connector N.
 */
import type { TransactionReport } from './charger.js';
import {
  ACKNOWLEDGED,
  endReasonOf,
  isoNow,
  type MeterSummary,
  notImplemented,
  type OcppConnection,
  type Params,
  type Sample,
  summarizeSamples,
  toBaseUnit,
} from './protocol.js';
import type { OcppStation, StationCommands } from './station.js';

interface SampledValue {
  value: number;
  context?: string;
  measurand?: string;
  phase?: string;
  unitOfMeasure?: { unit?: string; multiplier?: number };
  signedMeterValue?: {
    signedMeterData: string;
    signingMethod: string;
    encodingMethod: string;
    publicKey: string;
  };
}

interface MeterValue {
  timestamp: string;
  sampledValue: SampledValue[];
}

interface TransactionEventRequest {
  eventType: 'Started' | 'Updated' | 'Ended';
  timestamp: string;
  triggerReason: string;
  seqNo: number;
  offline?: boolean;
  transactionInfo: {
    transactionId: string;
    chargingState?: string;
    stoppedReason?: string;
    remoteStartId?: number;
  };
  idToken?: { idToken: string; type: string };
  evse?: { id: number; connectorId?: number };
  meterValue?: MeterValue[];
}

/** The register, the power and the signed readings in a TransactionEvent's meter values. */
function readMeterValues(meterValues: MeterValue[] | undefined): MeterSummary {
  return summarizeSamples(
    (meterValues ?? []).flatMap((mv) =>
      mv.sampledValue.map(
        (sv): Sample => ({
          timestamp: mv.timestamp,
          ...(sv.context ? { context: sv.context } : {}),
          ...(sv.measurand ? { measurand: sv.measurand } : {}),
          ...(sv.phase !== undefined ? { phase: sv.phase } : {}),
          value: toBaseUnit(sv.value, sv.unitOfMeasure?.unit, sv.unitOfMeasure?.multiplier),
          ...(sv.signedMeterValue ? { signed: sv.signedMeterValue } : {}),
        }),
      ),
    ),
  );
}

/** A cable in or out, as a transaction event tells it. */
function pluggedBy(event: TransactionEventRequest): boolean | undefined {
  if (event.triggerReason === 'EVDeparted' || event.transactionInfo.stoppedReason === 'EVDisconnected')
    return false;
  if (event.triggerReason === 'CablePluggedIn' || event.triggerReason === 'EVDetected') return true;
  const state = event.transactionInfo.chargingState;
  if (state && state !== 'Idle') return true;
  return undefined;
}

function onTransactionEvent(station: OcppStation, event: TransactionEventRequest): Record<string, unknown> {
  // Later events may leave out the EVSE: the transaction id says which connector it is on.
  const evseId =
    event.evse?.id ??
    [...station.chargers.values()].find((c) => c.knowsTransaction(event.transactionInfo.transactionId))
      ?.connector;
  const charger = evseId === undefined ? undefined : station.chargers.get(evseId);
  if (!charger) {
    if (event.eventType !== 'Ended') station.stopOrphan(event.transactionInfo.transactionId);
    return event.idToken ? { idTokenInfo: { status: 'Invalid' } } : {};
  }
  const meter = readMeterValues(event.meterValue);
  const charging = event.transactionInfo.chargingState;
  const plugged = pluggedBy(event);
  const report: TransactionReport = {
    transactionId: event.transactionInfo.transactionId,
    seqNo: event.seqNo,
    ...(event.idToken ? { token: event.idToken.idToken } : {}),
    ...(event.transactionInfo.remoteStartId !== undefined
      ? { remoteStartId: event.transactionInfo.remoteStartId }
      : {}),
    ...(meter.registerWh !== undefined ? { registerWh: meter.registerWh } : {}),
    ...(meter.w !== undefined ? { w: meter.w } : {}),
    ...(charging !== undefined ? { charging: charging === 'Charging' } : {}),
    ...(plugged !== undefined ? { plugged } : {}),
    ...(meter.signed.length > 0 ? { signed: meter.signed } : {}),
    ...(event.eventType === 'Ended' ? { ended: endReasonOf(event.transactionInfo.stoppedReason) } : {}),
  };
  const { tokenAccepted } = charger.reportTransaction(report);
  if (event.offline) station.log.info({ seqNo: event.seqNo, evseId }, 'queued transaction event reconciled');
  return event.idToken ? { idTokenInfo: { status: tokenAccepted ? 'Accepted' : 'Invalid' } } : {};
}

export function attachV201(connection: OcppConnection, station: OcppStation): void {
  connection.handle('BootNotification', async () => ({
    currentTime: isoNow(),
    interval: station.heartbeatS,
    status: 'Accepted',
  }));
  connection.handle('Heartbeat', async () => ({ currentTime: isoNow() }));
  connection.handle('StatusNotification', async ({ params }) => {
    const p = params as { connectorStatus: string; evseId: number };
    // Reserved and Unavailable say nothing of the cable: its last known state is kept.
    const unavailable = p.connectorStatus === 'Unavailable' || p.connectorStatus === 'Reserved';
    station.chargers.get(p.evseId)?.reportStatus({
      ...(unavailable ? {} : { plugged: p.connectorStatus === 'Occupied' }),
      faulted: p.connectorStatus === 'Faulted',
      unavailable,
    });
    return {};
  });
  connection.handle('Authorize', async ({ params }) => {
    const token = (params as { idToken: { idToken: string } }).idToken.idToken;
    const ours = [...station.chargers.values()].some((c) => c.acceptsToken(token));
    return { idTokenInfo: { status: ours ? 'Accepted' : 'Invalid' } };
  });
  connection.handle('TransactionEvent', async ({ params }) =>
    onTransactionEvent(station, params as unknown as TransactionEventRequest),
  );
  connection.handle(async ({ method }) => {
    const ack = method ? ACKNOWLEDGED[method] : undefined;
    return ack ?? notImplemented(method);
  });
}

export function v201Commands(connection: OcppConnection, startTimeoutMs: number): StationCommands {
  return {
    async requestStart(connector, token, remoteStartId) {
      const answer = (await connection.call(
        'RequestStartTransaction',
        { idToken: { idToken: token, type: 'Central' }, evseId: connector, remoteStartId },
        { callTimeoutMs: startTimeoutMs },
      )) as Params & { status: string; transactionId?: string };
      return {
        accepted: answer.status === 'Accepted',
        ...(answer.transactionId ? { transactionId: answer.transactionId } : {}),
      };
    },
    async requestStop(_connector, transactionId) {
      const answer = (await connection.call('RequestStopTransaction', { transactionId })) as {
        status: string;
      };
      return answer.status === 'Accepted';
    },
  };
}
