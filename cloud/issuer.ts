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
  issueTicket,
  type RandomSource,
  sealCredential,
  topics,
} from '../shared/index.js';
import { statement } from './db.js';
import { IssuingKeys } from './issuing-keys.js';
import type { PileRow, Registry } from './registry.js';

export const DEFAULT_TICKET_LIFE_SECONDS = 7 * 24 * 3600;
/** renew when this share of a ticket's life is left */
export const RENEW_AT_FRACTION = 0.2;
/** PROTOCOL §7 control bodies carry at most 100 revoked tickets; the newest ones win */
const MAX_REVOKED_IN_CONTROL = 100;

/** Credentials issued per transaction of a pass; the service publishes each batch once it is committed. */
export const DEFAULT_ISSUE_BATCH = 256;
/** (vehicle, pile) pairs looked at per transaction at most, so a pass that issues little still commits often */
const PAIRS_PER_STEP = 4096;

export interface IssuerOptions {
  ticketLifeSeconds: number;
  random: RandomSource;
  /** credentials per transaction in a pass; default DEFAULT_ISSUE_BATCH */
  issueBatch?: number;
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

/** The active grants of `vid`, newest first (none when the vehicle is revoked). */
function activeGrants(registry: Registry, vid: string, now: number): GrantRow[] {
  return statement(
    registry.db,
    `SELECT g.* FROM grants g JOIN vehicles v ON v.vid = g.vid
     WHERE g.vid = ? AND g.revoked_at IS NULL AND v.revoked_at IS NULL AND g.nbf <= ? AND (g.exp IS NULL OR g.exp > ?)
     ORDER BY g.id DESC`,
  ).all(vid, now, now) as GrantRow[];
}

/** The newest active grant of `vid` that covers `pile`, or undefined. */
export function entitlement(
  registry: Registry,
  vid: string,
  pile: PileRow,
  now: number,
): GrantRow | undefined {
  return activeGrants(registry, vid, now).find((g) => covers(g, pile));
}

export function latestTicket(registry: Registry, vid: string, pid: string): TicketRow | undefined {
  return statement(
    registry.db,
    'SELECT * FROM tickets WHERE vid = ? AND pid = ? ORDER BY iat DESC, rowid DESC LIMIT 1',
  ).get(vid, pid) as TicketRow | undefined;
}

export function setRetained(registry: Registry, topic: string, payload: string, now: number): boolean {
  const row = statement(registry.db, 'SELECT payload FROM retained WHERE topic = ?').get(topic) as
    | { payload: string }
    | undefined;
  if (row?.payload === payload) return false;
  writeRetained(registry, topic, payload, now);
  return true;
}

function writeRetained(registry: Registry, topic: string, payload: string, now: number): void {
  statement(registry.db, 'INSERT OR REPLACE INTO retained(topic, payload, updated_at) VALUES (?, ?, ?)').run(
    topic,
    payload,
    now,
  );
}

/**
 * Issues a ticket for (vid, pile) under the pile's current offset, seals it and makes it the retained credential.
 * A pass hands in its `keys` so each key is opened once per pass; a single request opens its own.
 */
export function issueCredential(
  registry: Registry,
  vid: string,
  pile: PileRow,
  grant: GrantRow,
  now: number,
  options: IssuerOptions,
  keys?: IssuingKeys,
): TicketRow {
  if (!keys) {
    const once = new IssuingKeys(registry);
    try {
      return issueCredential(registry, vid, pile, grant, now, options, once);
    } finally {
      once.forget();
    }
  }
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
  const ak = deriveAuthKey(keys.ticketKey(pile, pile.key_offset), ticket.bytes);
  const sealed = sealCredential(
    keys.sealKey(vid),
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
  statement(
    registry.db,
    `INSERT INTO tickets(tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(row.tid, vid, pile.pid, grant.id, row.off, now, now, exp, ticket.b64u, sealed.payload);
  // a fresh nonce makes every sealed credential new: no need to compare with the stored one
  writeRetained(registry, sealed.topic, sealed.payload, now);
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

type PairOutcome = 'issued' | 'changed' | 'same';

/** Brings the credential of one (vehicle, pile) pair in line with the vehicle's grants. */
function reconcilePair(
  registry: Registry,
  vid: string,
  pile: PileRow,
  grants: GrantRow[],
  nowMs: number,
  options: IssuerOptions,
  keys: IssuingKeys,
): PairOutcome {
  const now = Math.floor(nowMs / 1000);
  const grant = grants.find((g) => covers(g, pile));
  const current = latestTicket(registry, vid, pile.pid);
  const topic = topics.credential(vid, pile.pid);
  if (grant) {
    if (needsNewTicket(current, grant, pile, now, options.ticketLifeSeconds)) {
      issueCredential(registry, vid, pile, grant, now, options, keys);
      return 'issued';
    }
    if (current && current.revoked_at === null && current.exp > now)
      return setRetained(registry, topic, current.sealed, now) ? 'changed' : 'same';
    return setRetained(registry, topic, '', now) ? 'changed' : 'same';
  }
  // No entitlement: tickets still alive are revoked so the pile refuses them, and the credential goes.
  const revoked = statement(
    registry.db,
    'UPDATE tickets SET revoked_at = ? WHERE vid = ? AND pid = ? AND revoked_at IS NULL AND exp + ? >= ?',
  ).run(now, vid, pile.pid, CLOCK_SKEW_SECONDS, now);
  if (revoked.changes > 0)
    registry.audit('service', 'ticket.revoke', `${vid}/${pile.pid}`, { reason: 'no grant' }, nowMs);
  return current && setRetained(registry, topic, '', now) ? 'changed' : 'same';
}

/**
 * One pass over the registry, pile by pile, as a series of transactions: each `next()` commits one step (up to
 * `issueBatch` new credentials) and yields how many retained rows it changed, so the caller can publish what is
 * committed and let other work in before the next step. Every step reads piles, grants and tickets afresh, so a
 * change the CLI commits between steps is honoured by the rest of the pass.
 */
export function* reconcileSteps(
  registry: Registry,
  nowMs: number,
  options: IssuerOptions,
): Generator<number, void, undefined> {
  const now = Math.floor(nowMs / 1000);
  const db = registry.db;
  const batch = Math.max(1, options.issueBatch ?? DEFAULT_ISSUE_BATCH);
  const pids = (statement(db, 'SELECT pid FROM piles ORDER BY pid').all() as { pid: string }[]).map(
    (r) => r.pid,
  );
  const vids = (statement(db, 'SELECT vid FROM vehicles ORDER BY vid').all() as { vid: string }[]).map(
    (r) => r.vid,
  );
  const keys = new IssuingKeys(registry);
  let p = 0; // the pile being worked on
  let v = 0; // the next vehicle of that pile
  const step = db.transaction(() => {
    let changed = 0;
    let issued = 0;
    let pairs = 0;
    const grantsOf = new Map<string, GrantRow[]>();
    while (p < pids.length && issued < batch && pairs < PAIRS_PER_STEP) {
      const pile = statement(db, 'SELECT * FROM piles WHERE pid = ?').get(pids[p]) as PileRow | undefined;
      for (; pile && v < vids.length && issued < batch && pairs < PAIRS_PER_STEP; v++, pairs++) {
        const vid = vids[v]!;
        let grants = grantsOf.get(vid);
        if (!grants) {
          grants = activeGrants(registry, vid, now);
          grantsOf.set(vid, grants);
        }
        const outcome = reconcilePair(registry, vid, pile, grants, nowMs, options, keys);
        if (outcome === 'issued') issued++;
        if (outcome !== 'same') changed++;
      }
      if (pile && v < vids.length) break; // this step is full; the pile goes on in the next one
      if (pile && publishControl(registry, pile, now)) changed++;
      if (
        pile &&
        setRetained(registry, topics.directoryPile(pile.pid), JSON.stringify(directoryEntry(pile)), now)
      )
        changed++;
      keys.forgetTicketKeys();
      p++;
      v = 0;
    }
    if (p >= pids.length)
      statement(db, 'DELETE FROM request_nonces WHERE ts < ?').run(now - 2 * CLOCK_SKEW_SECONDS);
    return changed;
  });
  try {
    do yield step.immediate();
    while (p < pids.length);
  } finally {
    keys.forget();
  }
}

/** One whole pass in one transaction; returns how many retained rows changed. */
export function reconcile(registry: Registry, nowMs: number, options: IssuerOptions): number {
  return registry.db
    .transaction(() => {
      let changed = 0;
      for (const stepChanged of reconcileSteps(registry, nowMs, options)) changed += stepChanged;
      return changed;
    })
    .immediate();
}

/** The control content a pile should hold now; a new signed body (seq + 1) only when it differs. */
function publishControl(registry: Registry, pile: PileRow, now: number): boolean {
  const db = registry.db;
  const offsets = statement(
    db,
    'SELECT DISTINCT off FROM tickets WHERE pid = ? AND off <> ? AND exp + ? >= ? ORDER BY off',
  ).all(pile.pid, pile.key_offset, CLOCK_SKEW_SECONDS, now) as { off: number }[];
  const accept = [pile.key_offset, ...offsets.map((o) => o.off)];
  const revoked = (
    statement(
      db,
      `SELECT tid, exp FROM tickets WHERE pid = ? AND revoked_at IS NOT NULL AND exp + ? >= ?
       ORDER BY revoked_at DESC, tid LIMIT ?`,
    ).all(pile.pid, CLOCK_SKEW_SECONDS, now, MAX_REVOKED_IN_CONTROL) as { tid: string; exp: number }[]
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
  statement(db, 'UPDATE piles SET control_seq = ?, control_state = ? WHERE pid = ?').run(
    seq,
    state,
    pile.pid,
  );
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
