/**
 * The operator page's JSON (operator/view.ts), made from the gateway's own state: the retained statuses' view of
 * each connector, the open sessions' last signed readings, the session store's last receipts and the piles'
 * refusal counts. Made at most once a second however many pages poll it, so a page costs the gateway nothing
 * that grows with how many are open.
 */
import { sessionCost } from './cost.js';
import {
  MAX_VIEW_PILES,
  MAX_VIEW_SESSIONS,
  type OperatorPile,
  type OperatorReceipt,
  type OperatorSession,
  type OperatorView,
  VIEW_RECEIPTS,
} from './operator/view.js';
import type { PileRuntime } from './pile.js';
import type { SessionRecord, SessionStore } from './store.js';

export interface OperatorViewSource {
  gid: string;
  connected(): boolean;
  piles: ReadonlyMap<string, PileRuntime>;
  maxW(pid: string, connector: number): number;
  store: Pick<SessionStore, 'lastClosed'>;
  now(): number;
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

function session(r: SessionRecord): OperatorSession {
  return {
    sid: r.sid,
    pid: r.pid,
    connector: r.connector,
    vid: r.vid,
    startedAt: r.startedAt,
    wh: r.lastWh,
    w: r.lastW,
    lastMeterAt: r.lastMeterAt,
    maxWh: r.maxWh,
    pricePerKWh: r.pricePerKWh,
    currency: r.currency,
    cost: sessionCost(r.lastWh, r.pricePerKWh),
  };
}

function receipt(r: SessionRecord): OperatorReceipt {
  return {
    sid: r.sid,
    pid: r.pid,
    connector: r.connector,
    vid: r.vid,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? r.lastMeterAt,
    reason: r.reason ?? 'unknown',
    wh: r.lastWh,
    currency: r.currency,
    cost: sessionCost(r.lastWh, r.pricePerKWh),
  };
}

export function makeOperatorView(source: OperatorViewSource): OperatorView {
  const piles: OperatorPile[] = [];
  const sessions: OperatorSession[] = [];
  const refused: Record<string, number> = {};
  let sessionsTotal = 0;
  for (const pile of source.piles.values()) {
    const counts = pile.counts().refused;
    for (const [code, n] of Object.entries(counts)) if (n > 0) refused[code] = (refused[code] ?? 0) + n;
    const open = pile.openSessions();
    sessionsTotal += open.length;
    for (const r of open) if (sessions.length < MAX_VIEW_SESSIONS) sessions.push(session(r));
    if (piles.length >= MAX_VIEW_PILES) continue;
    piles.push({
      pid: pile.pid,
      connectors: pile.status().connectors.map((c) => ({ ...c, maxW: source.maxW(pile.pid, c.id) })),
      refused: nonZero(counts),
    });
  }
  return {
    v: 1,
    gid: source.gid,
    at: source.now(),
    mqtt: source.connected() ? 'connected' : 'disconnected',
    piles,
    pilesTotal: source.piles.size,
    sessions,
    sessionsTotal,
    receipts: source.store.lastClosed(VIEW_RECEIPTS).map(receipt),
    refused,
  };
}

/** The view as JSON, made again only when the last one is older than `maxAgeMs`. */
export function cachedOperatorView(source: OperatorViewSource, maxAgeMs = 1000): () => string {
  let json = '';
  let madeAt = Number.NEGATIVE_INFINITY;
  return () => {
    const now = source.now();
    if (now - madeAt >= maxAgeMs || now < madeAt) {
      json = JSON.stringify(makeOperatorView(source));
      madeAt = now;
    }
    return json;
  };
}
