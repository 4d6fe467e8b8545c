/** Read-only views for `evauth-cloud list` and `show` (no secrets: keys and hashes are never printed). */
import type { Registry } from './registry.js';
import { RegistryError } from './registry.js';

const QUERIES: Record<string, string> = {
  vehicles: 'SELECT vid, name, created_at, revoked_at FROM vehicles ORDER BY vid',
  piles:
    'SELECT pid, gid, site, name, key_offset, control_seq, price_per_kwh, currency, connectors FROM piles ORDER BY pid',
  gateways:
    'SELECT g.gid, g.name, g.created_at, (SELECT COUNT(*) FROM piles p WHERE p.gid = g.gid) AS piles FROM gateways g ORDER BY gid',
  grants: 'SELECT id, vid, scope, target, nbf, exp, max_wh, revoked_at FROM grants ORDER BY id',
  tickets: 'SELECT tid, vid, pid, off, iat, exp, revoked_at FROM tickets ORDER BY iat DESC LIMIT 500',
  audit: 'SELECT id, ts, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT 200',
};

const SHOW: Record<string, string> = {
  vehicle: 'SELECT vid, name, created_at, revoked_at FROM vehicles WHERE vid = ?',
  pile: 'SELECT pid, gid, site, name, address, lat, lon, connectors, price_per_kwh, currency, key_offset, control_seq, control_state FROM piles WHERE pid = ?',
  gateway: 'SELECT gid, name, created_at FROM gateways WHERE gid = ?',
  grant: 'SELECT * FROM grants WHERE id = ?',
  ticket: 'SELECT tid, vid, pid, grant_id, off, iat, nbf, exp, revoked_at FROM tickets WHERE tid = ?',
};

export function listRows(registry: Registry, what: string, json: boolean): string {
  const sql = QUERIES[what];
  if (!sql)
    throw new RegistryError(
      'INVALID',
      `cannot list ${JSON.stringify(what)}; choose one of ${Object.keys(QUERIES).join(', ')}`,
    );
  const rows = registry.db.prepare(sql).all() as Record<string, unknown>[];
  if (json) return JSON.stringify(rows, null, 2);
  if (rows.length === 0) return `(no ${what})`;
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = cols.map((c) => Math.min(40, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.slice(0, 40).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

export function showEntity(registry: Registry, kind: string, id: string): string {
  const sql = SHOW[kind];
  if (!sql)
    throw new RegistryError(
      'INVALID',
      `cannot show ${JSON.stringify(kind)}; choose one of ${Object.keys(SHOW).join(', ')}`,
    );
  const row = registry.db.prepare(sql).get(id) as Record<string, unknown> | undefined;
  if (!row) throw new RegistryError('NOT_FOUND', `unknown ${kind} ${id}`);
  const extra: Record<string, unknown> = {};
  if (kind === 'gateway') extra['piles'] = registry.gatewayPiles(id);
  if (kind === 'vehicle') {
    extra['grants'] = registry.db
      .prepare('SELECT id, scope, target, nbf, exp, revoked_at FROM grants WHERE vid = ?')
      .all(id);
  }
  return JSON.stringify({ ...row, ...extra }, null, 2);
}
