/**
 * Recovery after a restart: every session a previous run of this gateway left open (crash, SIGKILL, power loss)
 * is found at start. One whose charger outlives the gateway (an OCPP station: its transaction ran on) is taken
 * back at once, before the station can reconnect, and runs on from the station's reports. Every other is closed
 * once, on the first connection to the broker, with its last signed reading: the receipt is MACed with the
 * stored SK, so the vehicle can verify it, signed in OCMF like any other, and sent to the vehicle; reason `gateway-restart`.
 */
import type { Logger } from 'pino';
import { PileSession, topics } from '../shared/index.js';
import type { Publish } from './active-session.js';
import type { GatewayMetrics } from './metrics.js';
import type { PileReceipts } from './signed-receipts.js';
import type { SessionRecord, SessionStore } from './store.js';

export interface RecoveryOptions {
  store: SessionStore;
  /** the piles this gateway serves now: a record of any other pile is left as it is */
  serves(pid: string): boolean;
  /** the receipts of a pile this gateway serves */
  receipts(pid: string): PileReceipts;
  /** takes the session back where its charger can; false: it is closed */
  resume?(record: SessionRecord): boolean;
  publish: Publish;
  now: () => number;
  metrics: GatewayMetrics;
  logger: Logger;
}

export class Recovery {
  private readonly options: RecoveryOptions;
  private leftOpen: SessionRecord[];

  /** how many sessions were taken back at start */
  resumed = 0;

  /**
   * Finds the sessions left open now, at start, before this run can open any of its own, and takes back those
   * whose charger can.
   */
  constructor(options: RecoveryOptions) {
    this.options = options;
    this.leftOpen = [];
    // One query for all piles: per pile it was a scan of every open session for each of them.
    for (const record of options.store.openSessions()) {
      if (!options.serves(record.pid)) continue;
      if (options.resume?.(record)) this.resumed++;
      else this.leftOpen.push(record);
    }
  }

  /** Closes them and sends their receipts (once: later calls close nothing); returns how many. */
  closeLeftOpen(): number {
    const { store, metrics, logger } = this.options;
    const records = this.leftOpen;
    this.leftOpen = [];
    for (const record of records) {
      const signer = new PileSession({
        sid: record.sid,
        sk: record.sk,
        meterSeq: record.meterSeq,
        stopSeq: record.stopSeq,
      });
      const endedAt = this.options.now();
      const { payload, page } = this.options
        .receipts(record.pid)
        .sessionEnd(signer, record, 'gateway-restart', record.lastWh, endedAt);
      store.closeSession(record.sid, 'gateway-restart', endedAt, record.lastWh, payload, undefined, page);
      metrics.sessionsEnded.inc({ reason: 'gateway-restart' });
      // `pid` is pino's process id: the pile is logged as `pile`.
      logger.warn(
        { pile: record.pid, sid: record.sid, vid: record.vid, wh: record.lastWh },
        'closed session left open by a restart',
      );
      this.options.publish(topics.vehicleSession(record.vid), payload);
    }
    return records.length;
  }
}
