/**
 * The piles one gateway serves: a PileRuntime per pile of the config with a charger per connector (its OCPP
 * station's, one from the factory, or the simulator), the topics they are reached on, the routing of each
 * message to its pile by topic, and what the gateway does to all of them at once (tick, status, end).
 */
import type { Logger } from 'pino';
import { type PileLimits, parseTopic, type RandomSource, topics } from '../shared/index.js';
import type { EndReason, Publish } from './active-session.js';
import { type ChargerController, SimulatedCharger } from './charger.js';
import type { LoadedGatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { OcppStation } from './ocpp/station.js';
import { PileRuntime } from './pile.js';
import type { ReceiptSigningThread } from './receipt-thread.js';
import type { SessionRecord, SessionStore } from './store.js';
import { VehicleSessions } from './vehicle-sessions.js';

/** Every pile's auth and control topic: the gateway's subscriptions. */
export function pileSubscriptions(pids: readonly string[]): string[] {
  return pids.flatMap((pid) => [topics.pileAuth(pid), topics.pileControl(pid)]);
}

export interface ServedPilesOptions {
  loaded: LoadedGatewayConfig;
  /** the stations of the config's OCPP piles, by stationId */
  stations: ReadonlyMap<string, OcppStation>;
  store: SessionStore;
  publish: Publish;
  now: () => number;
  random: RandomSource;
  metrics: GatewayMetrics;
  logger: Logger;
  /** a real controller per connector; the simulator by default */
  chargerFactory?: (pid: string, connector: number) => ChargerController;
  limits?: Partial<PileLimits>;
  /** where live sessions' signed receipts are made (the gateway's receipt-signing thread) */
  receiptThread?: ReceiptSigningThread;
}

export class ServedPiles {
  readonly runtimes = new Map<string, PileRuntime>();
  private readonly metrics: GatewayMetrics;
  private readonly logger: Logger;

  constructor(options: ServedPilesOptions) {
    const { loaded, stations } = options;
    const { config } = loaded;
    this.metrics = options.metrics;
    this.logger = options.logger;
    // One ledger for the site: a vehicle's open sessions count across every pile of this gateway.
    const vehicleSessions = new VehicleSessions(config.openSessionsPerVehicle);
    for (const pile of config.piles) {
      const station = pile.charger.kind === 'ocpp' ? stations.get(pile.charger.stationId) : undefined;
      const chargers = new Map<number, ChargerController>();
      for (const c of pile.connectors) {
        chargers.set(
          c.id,
          options.chargerFactory?.(pile.pid, c.id) ??
            station?.chargers.get(c.id) ??
            new SimulatedCharger({ rampMs: config.rampMs, now: options.now }),
        );
      }
      this.runtimes.set(
        pile.pid,
        new PileRuntime({
          gid: config.gid,
          pile,
          key: loaded.keys.get(pile.pid)!,
          store: options.store,
          chargers,
          publish: options.publish,
          now: options.now,
          random: options.random,
          meterIntervalMs: config.meterIntervalMs,
          ocmfReadingIntervalMs: config.ocmfReadingIntervalMs,
          metrics: options.metrics,
          logger: options.logger,
          limits: options.limits,
          acceptRevision1Requests: config.acceptRevision1Requests,
          vehicleSessions: vehicleSessions.forPile(pile.pid),
          ...(options.receiptThread ? { receiptThread: options.receiptThread } : {}),
        }),
      );
    }
  }

  get size(): number {
    return this.runtimes.size;
  }

  serves(pid: string): boolean {
    return this.runtimes.has(pid);
  }

  /** Takes back a session a previous run left open at one of these piles, where its charger can. */
  resume(record: SessionRecord): boolean {
    return this.runtimes.get(record.pid)?.resume(record) ?? false;
  }

  /** Hands one MQTT message to its pile. One bad message must never take the gateway down. */
  route(topic: string, payload: Buffer, retained: boolean): void {
    const parsed = parseTopic(topic);
    const pile = parsed && 'pid' in parsed ? this.runtimes.get(parsed.pid) : undefined;
    if (!pile || !parsed) {
      this.metrics.dropped.inc({ reason: 'unknown-topic' });
      return;
    }
    try {
      if (parsed.kind === 'pileAuth') pile.handleAuth(payload, retained);
      else if (parsed.kind === 'pileControl') pile.handleControl(payload);
      else this.metrics.dropped.inc({ reason: 'unknown-topic' });
    } catch (error) {
      this.metrics.dropped.inc({ reason: 'internal' });
      this.logger.error({ err: error, topic }, 'message handling failed');
    }
  }

  /** Expired challenges of every pile (run once a second). */
  tick(): void {
    for (const pile of this.runtimes.values()) pile.tick();
  }

  get activeSessionCount(): number {
    let n = 0;
    for (const pile of this.runtimes.values()) n += pile.activeSessionCount;
    return n;
  }

  /** Marks every pile online or offline and, when `publish`, sends its retained status. */
  setOnline(online: boolean, publish: boolean): void {
    for (const pile of this.runtimes.values()) {
      pile.setOnline(online);
      if (publish) pile.publishStatus();
    }
  }

  /** Ends every open session with a signed receipt (graceful shutdown). */
  endAll(reason: EndReason): void {
    for (const pile of this.runtimes.values()) pile.endAll(reason);
  }
}
