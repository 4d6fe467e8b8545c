/**
 * One OCPP charging station as the gateway sees it: its password, its connection (at most one; a new one replaces
 * the old), the protocol it speaks, and an OcppCharger per connector of its pile. The protocol's messages are
 * mapped in v201.ts and v16.ts; this file only holds what both share.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { OcppCharger, type OcppTimings, type StationLink } from './charger.js';
import type { StationCommands } from './connector-state.js';
import type { OcppConnection } from './protocol.js';
import { attachV16, v16Commands } from './v16.js';
import { attachV201, v201Commands } from './v201.js';

export type OcppProtocol = 'ocpp2.0.1' | 'ocpp1.6';

export type { StationCommands };

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

export class OcppStation implements StationLink {
  readonly stationId: string;
  readonly pid: string;
  readonly chargers = new Map<number, OcppCharger>();
  private readonly passwordDigest: Buffer;
  private readonly startTimeoutMs: number;
  readonly heartbeatS: number;
  readonly log: Logger;
  private connection?: OcppConnection;
  private commands?: StationCommands;
  private remoteStartId = randomInt(1, 1_000_000);
  /** transactions on no known connector that were asked to stop (bounded: ids of one connection's orphans) */
  private readonly orphansStopped = new Set<string>();

  constructor(options: {
    stationId: string;
    password: string;
    pid: string;
    connectors: readonly number[];
    timings: OcppTimings & { startTimeoutMs: number; heartbeatS: number };
    logger: Logger;
  }) {
    this.stationId = options.stationId;
    this.pid = options.pid;
    this.passwordDigest = digest(options.password);
    this.startTimeoutMs = options.timings.startTimeoutMs;
    this.heartbeatS = options.timings.heartbeatS;
    this.log = options.logger.child({ station: this.stationId, pile: this.pid });
    for (const connector of options.connectors) {
      this.chargers.set(
        connector,
        new OcppCharger({
          connector,
          link: this,
          timings: options.timings,
          nextRemoteStartId: () => {
            this.remoteStartId = (this.remoteStartId % 2_000_000_000) + 1;
            return this.remoteStartId;
          },
        }),
      );
    }
  }

  /** HTTP Basic password check (security profile 1), in constant time. */
  passwordMatches(password: Buffer | undefined): boolean {
    return password !== undefined && timingSafeEqual(digest(password), this.passwordDigest);
  }

  get online(): boolean {
    return this.connection !== undefined;
  }

  get protocol(): OcppProtocol | undefined {
    return this.connection?.protocol as OcppProtocol | undefined;
  }

  /** A station connected (after its password was checked): it replaces an older connection of the same station. */
  attach(connection: OcppConnection): void {
    const previous = this.connection;
    this.connection = connection;
    if (previous) void previous.close({ code: 1000, reason: 'replaced by a new connection' });
    const protocol = connection.protocol as OcppProtocol;
    if (protocol === 'ocpp1.6') {
      attachV16(connection, this);
      this.commands = v16Commands(connection, this.startTimeoutMs);
    } else {
      attachV201(connection, this);
      this.commands = v201Commands(connection, this.startTimeoutMs);
    }
    connection.once('close', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.commands = undefined;
      this.orphansStopped.clear();
      this.log.warn('station disconnected');
      for (const charger of this.chargers.values()) charger.linkChanged();
    });
    this.log.info({ protocol }, 'station connected');
    for (const charger of this.chargers.values()) charger.linkChanged();
  }

  requestStart(
    connector: number,
    token: string,
    remoteStartId: number,
  ): Promise<{ accepted: boolean; transactionId?: string }> {
    if (!this.commands) return Promise.reject(new Error('station offline'));
    return this.commands.requestStart(connector, token, remoteStartId);
  }

  requestStop(connector: number, transactionId: string): Promise<boolean> {
    if (!this.commands) return Promise.reject(new Error('station offline'));
    return this.commands.requestStop(connector, transactionId).catch((error: unknown) => {
      this.log.warn({ connector, transactionId, err: (error as Error).message }, 'stop not confirmed');
      return false;
    });
  }

  /**
   * A running transaction the gateway cannot place on a connector (its first events, which named the EVSE, went
   * to a gateway before a restart): no session owns it, so it is stopped, once.
   */
  stopOrphan(transactionId: string): void {
    if (this.orphansStopped.has(transactionId) || this.orphansStopped.size >= 1000) return;
    this.orphansStopped.add(transactionId);
    this.log.warn({ transactionId }, 'stopping a transaction no session owns');
    void this.requestStop(0, transactionId);
  }

  /** Closes the connection (gateway shutdown). */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close({ code: 1001, reason: 'gateway shutting down', force: true });
  }
}
