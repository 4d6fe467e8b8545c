/** Prometheus metrics of one gateway (its own registry, so several gateways can share a process in tests). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES, newPileCounters, type PileCounters, type PileMemoryStats } from '../shared/index.js';

export type DropReason =
  | 'retained'
  | 'malformed'
  | 'unaddressable'
  | 'no-handshake'
  | 'bad-abort'
  | 'no-session'
  | 'bad-stop'
  | 'control-rejected'
  | 'internal'
  | 'unknown-topic';

export interface GatewayMetrics {
  registry: Registry;
  handshakes: Counter<'outcome' | 'code'>;
  handshakeLatency: Histogram<never>;
  activeSessions: Gauge<never>;
  dropped: Counter<'reason'>;
  sessionsEnded: Counter<'reason'>;
  metersSent: Counter<never>;
  /** auth.request refused, by §6 code: the piles' own per-pile counters, summed when scraped */
  requestsRefused: Counter<'code'>;
  /** auth.abort that ended nothing (no pending handshake, or no valid mac) */
  abortsIgnored: Counter<never>;
  /** revision-1 requests (no mac) let through by the migration switch: how many such vehicles remain */
  revision1Requests: Counter<never>;
  /** entries of the piles' memories that grow with traffic (PileAuthenticator.memoryStats), summed */
  pileMemory: Gauge<'memory'>;
  /** the metrics above read this pile's counters and memory sizes at every scrape */
  watchPile(pid: string, counts: () => PileCounters, memory: () => PileMemoryStats): void;
}

export function createMetrics(gid: string): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ gid });
  const piles = new Map<string, () => PileCounters>();
  const memories = new Map<string, () => PileMemoryStats>();
  // Summed over the gateway's piles at scrape time (a pile label would be thousands of series per code).
  const totals = (): PileCounters => {
    const sum = newPileCounters();
    for (const counts of piles.values()) {
      const c = counts();
      for (const code of ERROR_CODES) sum.refused[code] += c.refused[code];
      sum.abortsIgnored += c.abortsIgnored;
      sum.revision1Accepted += c.revision1Accepted;
    }
    return sum;
  };
  return {
    registry,
    handshakes: new Counter({
      name: 'evauth_gateway_handshakes_total',
      help: 'Handshakes by outcome (authorized, rejected, aborted, expired) and error code',
      labelNames: ['outcome', 'code'],
      registers: [registry],
    }),
    handshakeLatency: new Histogram({
      name: 'evauth_gateway_handshake_seconds',
      help: 'From auth.request received to auth.result sent',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    activeSessions: new Gauge({
      name: 'evauth_gateway_active_sessions',
      help: 'Charging sessions open now',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'evauth_gateway_messages_dropped_total',
      help: 'Incoming messages dropped without an answer, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    sessionsEnded: new Counter({
      name: 'evauth_gateway_sessions_ended_total',
      help: 'Charging sessions closed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    metersSent: new Counter({
      name: 'evauth_gateway_meter_readings_total',
      help: 'Signed session.meter messages sent',
      registers: [registry],
    }),
    requestsRefused: new Counter({
      name: 'evauth_gateway_requests_refused_total',
      help: 'auth.request refused, by PROTOCOL §6 code (steps 1-5 keep nothing of the request: only this count)',
      labelNames: ['code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [code, n] of Object.entries(totals().refused)) if (n > 0) this.inc({ code }, n);
      },
    }),
    abortsIgnored: new Counter({
      name: 'evauth_gateway_aborts_ignored_total',
      help: 'auth.abort that ended nothing: no pending handshake, or no valid mac under its AK',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(totals().abortsIgnored);
      },
    }),
    revision1Requests: new Counter({
      name: 'evauth_gateway_revision1_requests_total',
      help: 'auth.request without mac (revision 1) let through by acceptRevision1Requests',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(totals().revision1Accepted);
      },
    }),
    pileMemory: new Gauge({
      name: 'evauth_gateway_pile_memory_entries',
      help: 'Entries held by the piles’ memories that grow with traffic (pending, replay, per-vehicle counters…), summed over piles',
      labelNames: ['memory'],
      registers: [registry],
      collect() {
        const sum: Record<string, number> = {};
        for (const memory of memories.values())
          for (const [name, n] of Object.entries(memory())) sum[name] = (sum[name] ?? 0) + n;
        this.reset();
        for (const [name, n] of Object.entries(sum)) this.set({ memory: name }, n);
      },
    }),
    watchPile(pid, counts, memory) {
      piles.set(pid, counts);
      memories.set(pid, memory);
    },
  };
}

/** Maps the state machine's free-text drop reasons to a bounded label set. */
export function dropReason(text: string): DropReason {
  if (text.startsWith('internal')) return 'internal';
  if (text.includes('no pending handshake') || text.includes('completed handshake')) return 'no-handshake';
  if (text.startsWith('abort without')) return 'bad-abort';
  if (text.includes('JSON') || text.includes('UTF-8') || text.includes('larger than')) return 'malformed';
  return 'unaddressable';
}
