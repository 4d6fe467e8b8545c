/**
 * The issuer's reconciliation: from grants, tickets, revocations and piles in the registry, work out what
 * every cloud-owned retained topic should hold (credentials, pile.control, directory) and store it in the
 * `retained` table. The service publishes rows as they change and all of them on every (re)connect.
 */
import {
  buildPileControl,
  CLOCK_SKEW_SECONDS,
  type DirectoryEntry,
  deriveAuthKey,
  deriveControlKey,
  deriveSealKey,
  deriveTicketKey,
  issueTicket,
  type RandomSource,
  sealCredential,
  topics,
} from '../shared/index.js';
import type { PileRow, Registry } from './registry.js';

export const DEFAULT_TICKET_LIFE_SECONDS = 7 * 24 * 3600;
/** renew when this share of a ticket's life is left */
export const RENEW_AT_FRACTION = 0.2;
/** PROTOCOL §7 control bodies carry at most 100 revoked tickets; the newest ones win */
const MAX_REVOKED_IN_CONTROL = 100;

export interface IssuerOptions {
  ticketLifeSeconds: number;
  random: RandomSource;
}

interface GrantRow {
  id: number;
  vid: string;
  scope: 'pile' | 'site' | 'all';
  target: string | null;
  nbf: number;
  exp: number | null;
  max_wh: number | null;
}

interface TicketRow {
  tid: string;
  vid: string;
  pid: string;
  grant_id: number | null;
  off: number;
  iat: number;
  nbf: number;
  exp: number;
  sealed: string;
  revoked_at: number | null;
}

function covers(grant: GrantRow, pile: PileRow): boolean {
  if (grant.scope === 'all') return true;
  if (grant.scope === 'site') return grant.target === pile.site;
  return grant.target === pile.pid;
}

/** The newest active grant of `vid` that covers `pile`, or undefined. */
export function entitlement(
  registry: Registry,
  vid: string,
  pile: PileRow,
  now: number,
): GrantRow | undefined {
  const grants = registry.db
    .prepare(
      `SELECT g.* FROM grants g JOIN vehicles v ON v.vid = g.vid
       WHERE g.vid = ? AND g.revoked_at IS NULL AND v.revoked_at IS NULL AND g.nbf <= ? AND (g.exp IS NULL OR g.exp > ?)
       ORDER BY g.id DESC`,
    )
    .all(vid, now, now) as GrantRow[];
  return grants.find((g) => covers(g, pile));
}

export function latestTicket(registry: Registry, vid: string, pid: string): TicketRow | undefined {
  return registry.db
    .prepare('SELECT * FROM tickets WHERE vid = ? AND pid = ? ORDER BY iat DESC, rowid DESC LIMIT 1')
    .get(vid, pid) as TicketRow | undefined;
}

export function setRetained(registry: Registry, topic: string, payload: string, now: number): boolean {
  const row = registry.db.prepare('SELECT payload FROM retained WHERE topic = ?').get(topic) as
    | { payload: string }
    | undefined;
  if (row?.payload === payload) return false;
  registry.db
    .prepare('INSERT OR REPLACE INTO retained(topic, payload, updated_at) VALUES (?, ?, ?)')
    .run(topic, payload, now);
  return true;
}

/** Issues a ticket for (vid, pile) under the pile's current offset, seals it and makes it the retained credential. */
export function issueCredential(
  registry: Registry,
  vid: string,
  pile: PileRow,
  grant: GrantRow,
  now: number,
  options: IssuerOptions,
): TicketRow {
  const exp =
    grant.exp === null
      ? now + options.ticketLifeSeconds
      : Math.min(grant.exp, now + options.ticketLifeSeconds);
  const ticket = issueTicket(
    {
      vid,
      pid: pile.pid,
      off: pile.key_offset,
      iat: now,
      nbf: now,
      exp,
      ...(grant.max_wh !== null ? { maxWh: grant.max_wh } : {}),
    },
    options.random,
  );
  const rootKey = registry.pileRootKey(pile);
  const ak = deriveAuthKey(deriveTicketKey(rootKey, pile.key_offset, pile.pid), ticket.bytes);
  const sealed = sealCredential(
    deriveSealKey(registry.vehicleKey(vid), vid),
    vid,
    { ticket: ticket.b64u, ak, pid: pile.pid, tid: ticket.body.tid, exp },
    options.random(24),
  );
  const row: TicketRow = {
    tid: ticket.body.tid,
    vid,
    pid: pile.pid,
    grant_id: grant.id,
    off: pile.key_offset,
    iat: now,
    nbf: now,
    exp,
    sealed: sealed.payload,
    revoked_at: null,
  };
  registry.db
    .prepare(
      `INSERT INTO tickets(tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(row.tid, vid, pile.pid, grant.id, row.off, now, now, exp, ticket.b64u, sealed.payload);
  setRetained(registry, sealed.topic, sealed.payload, now);
  registry.audit(
    'service',
    'ticket.issue',
    `${vid}/${pile.pid}`,
    { tid: row.tid, off: row.off, exp },
    now * 1000,
  );
  return row;
}

function needsNewTicket(
  current: TicketRow | undefined,
  grant: GrantRow,
  pile: PileRow,
  now: number,
  life: number,
) {
  if (!current) return true;
  if (current.revoked_at !== null) return grant.id > (current.grant_id ?? 0);
  if (current.exp <= now) return true;
  if (current.off !== pile.key_offset) return true;
  const left = current.exp - now;
  const wouldEnd = grant.exp === null ? now + life : Math.min(grant.exp, now + life);
  return left < RENEW_AT_FRACTION * (current.exp - current.iat) && wouldEnd > current.exp;
}

/** One pass over the registry; returns how many retained rows changed. Runs in one transaction. */
export function reconcile(registry: Registry, nowMs: number, options: IssuerOptions): number {
  const now = Math.floor(nowMs / 1000);
  const db = registry.db;
  return db
    .transaction(() => {
      let changed = 0;
      const piles = db.prepare('SELECT * FROM piles ORDER BY pid').all() as PileRow[];
      const vehicles = (db.prepare('SELECT vid FROM vehicles ORDER BY vid').all() as { vid: string }[]).map(
        (r) => r.vid,
      );
      for (const pile of piles) {
        for (const vid of vehicles) {
          const grant = entitlement(registry, vid, pile, now);
          const current = latestTicket(registry, vid, pile.pid);
          const topic = topics.credential(vid, pile.pid);
          if (grant) {
            if (needsNewTicket(current, grant, pile, now, options.ticketLifeSeconds)) {
              issueCredential(registry, vid, pile, grant, now, options);
              changed++;
            } else if (current && current.revoked_at === null && current.exp > now) {
              if (setRetained(registry, topic, current.sealed, now)) changed++;
            } else if (setRetained(registry, topic, '', now)) changed++;
            continue;
          }
          // No entitlement: tickets still alive are revoked so the pile refuses them, and the credential goes.
          const revoked = db
            .prepare(
              'UPDATE tickets SET revoked_at = ? WHERE vid = ? AND pid = ? AND revoked_at IS NULL AND exp + ? >= ?',
            )
            .run(now, vid, pile.pid, CLOCK_SKEW_SECONDS, now);
          if (revoked.changes > 0)
            registry.audit('service', 'ticket.revoke', `${vid}/${pile.pid}`, { reason: 'no grant' }, nowMs);
          if (current && setRetained(registry, topic, '', now)) changed++;
        }
        if (publishControl(registry, pile, now)) changed++;
        if (setRetained(registry, topics.directoryPile(pile.pid), JSON.stringify(directoryEntry(pile)), now))
          changed++;
      }
      db.prepare('DELETE FROM request_nonces WHERE ts < ?').run(now - 2 * CLOCK_SKEW_SECONDS);
      return changed;
    })
    .immediate();
}

/** The control content a pile should hold now; a new signed body (seq + 1) only when it differs. */
function publishControl(registry: Registry, pile: PileRow, now: number): boolean {
  const db = registry.db;
  const offsets = db
    .prepare('SELECT DISTINCT off FROM tickets WHERE pid = ? AND off <> ? AND exp + ? >= ? ORDER BY off')
    .all(pile.pid, pile.key_offset, CLOCK_SKEW_SECONDS, now) as { off: number }[];
  const accept = [pile.key_offset, ...offsets.map((o) => o.off)];
  const revoked = (
    db
      .prepare(
        `SELECT tid, exp FROM tickets WHERE pid = ? AND revoked_at IS NOT NULL AND exp + ? >= ?
         ORDER BY revoked_at DESC, tid LIMIT ?`,
      )
      .all(pile.pid, CLOCK_SKEW_SECONDS, now, MAX_REVOKED_IN_CONTROL) as { tid: string; exp: number }[]
  ).sort((a, b) => (a.tid < b.tid ? -1 : 1));
  const state = JSON.stringify({ current: pile.key_offset, accept, revoked });
  if (state === pile.control_state) return false;
  const seq = pile.control_seq + 1;
  const message = buildPileControl(deriveControlKey(registry.pileRootKey(pile), pile.pid), pile.pid, {
    seq,
    issuedAt: now,
    keyOffset: { current: pile.key_offset, accept },
    revoked,
  });
  db.prepare('UPDATE piles SET control_seq = ?, control_state = ? WHERE pid = ?').run(seq, state, pile.pid);
  pile.control_seq = seq;
  pile.control_state = state;
  setRetained(registry, topics.pileControl(pile.pid), JSON.stringify(message), now);
  registry.audit(
    'service',
    'control.publish',
    pile.pid,
    { seq, accept, revoked: revoked.length },
    now * 1000,
  );
  return true;
}

export function directoryEntry(pile: PileRow): DirectoryEntry {
  return {
    v: 1,
    pid: pile.pid,
    name: pile.name,
    site: pile.site,
    address: pile.address,
    lat: pile.lat,
    lon: pile.lon,
    connectors: JSON.parse(pile.connectors),
    tariff: { pricePerKWh: pile.price_per_kwh, currency: pile.currency },
  };
}
