/**
 * Recovery after a restart: every session a previous run of this gateway left open (crash, SIGKILL, power loss)
 * is found at start and closed once, on the first connection to the broker, with its last signed reading. The receipt is MACed
 * with the stored SK, so the vehicle can verify it, signed in OCMF like any other, and sent to the vehicle;
 * reason `gateway-restart`.
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
  publish: Publish;
  now: () => number;
  metrics: GatewayMetrics;
  logger: Logger;
}

export class Recovery {
  private readonly options: RecoveryOptions;
  private leftOpen: SessionRecord[];

  /** Finds the sessions left open now, at start, before this run can open any of its own. */
  constructor(options: RecoveryOptions) {
    this.options = options;
    // One query for all piles: per pile it was a scan of every open session for each of them.
    this.leftOpen = options.store.openSessions().filter((record) => options.serves(record.pid));
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
      const payload = this.options
        .receipts(record.pid)
        .sessionEnd(signer, record, 'gateway-restart', record.lastWh, endedAt);
      store.closeSession(record.sid, 'gateway-restart', endedAt, record.lastWh, payload);
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
