/** Prometheus metrics of one gateway (its own registry, so several gateways can share a process in tests). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type DropReason =
  | 'retained'
  | 'malformed'
  | 'unaddressable'
  | 'no-handshake'
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
}

export function createMetrics(gid: string): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ gid });
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
  };
}

/** Maps the state machine's free-text drop reasons to a bounded label set. */
export function dropReason(text: string): DropReason {
  if (text.startsWith('internal')) return 'internal';
  if (text.includes('no pending handshake') || text.includes('completed handshake')) return 'no-handshake';
  if (text.includes('JSON') || text.includes('UTF-8') || text.includes('larger than')) return 'malformed';
  return 'unaddressable';
}
