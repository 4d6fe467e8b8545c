/** Grants and revocations: what a vehicle may charge at, and ending grants, tickets and vehicles (each with a revocations row). */
import { usernames } from '../shared/index.js';
import type { Registry } from './registry.js';
import { type GrantSpec, RegistryError } from './registry-records.js';

export function addGrant(registry: Registry, vid: string, spec: GrantSpec, nowMs = Date.now()): number {
  const { db } = registry;
  registry.requireVehicle(vid);
  let target: string | null = null;
  if (spec.scope === 'pile') target = registry.requirePile(spec.target ?? '').pid;
  else if (spec.scope === 'site') {
    target = spec.target ?? '';
    if (!db.prepare('SELECT 1 FROM piles WHERE site = ?').get(target)) {
      throw new RegistryError('NOT_FOUND', `no pile at site ${JSON.stringify(target)}`);
    }
  }
  const now = Math.floor(nowMs / 1000);
  const nbf = spec.nbf ?? now;
  if (spec.exp !== undefined && spec.exp <= nbf)
    throw new RegistryError('INVALID', 'grant ends before it starts');
  if (spec.maxWh !== undefined && !(Number.isInteger(spec.maxWh) && spec.maxWh >= 1)) {
    throw new RegistryError('INVALID', 'maxWh must be a positive integer');
  }
  return db.transaction(() => {
    const info = db
      .prepare(
        'INSERT INTO grants(vid, scope, target, nbf, exp, max_wh, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(vid, spec.scope, target, nbf, spec.exp ?? null, spec.maxWh ?? null, now);
    const id = Number(info.lastInsertRowid);
    registry.audit('cli', 'grant', vid, { id, scope: spec.scope, target, nbf, exp: spec.exp ?? null }, nowMs);
    return id;
  })();
}

export function revokeTicket(registry: Registry, tid: string, nowMs = Date.now()): void {
  const { db } = registry;
  const row = db.prepare('SELECT revoked_at FROM tickets WHERE tid = ?').get(tid) as
    | { revoked_at: number | null }
    | undefined;
  if (!row) throw new RegistryError('NOT_FOUND', `unknown ticket ${tid}`);
  if (row.revoked_at !== null) throw new RegistryError('EXISTS', `ticket ${tid} is already revoked`);
  const now = Math.floor(nowMs / 1000);
  db.transaction(() => {
    db.prepare('UPDATE tickets SET revoked_at = ? WHERE tid = ?').run(now, tid);
    db.prepare("INSERT INTO revocations(kind, target, ts) VALUES ('ticket', ?, ?)").run(tid, now);
    registry.audit('cli', 'revoke.ticket', tid, undefined, nowMs);
  })();
}

/** Ends a vehicle: its MQTT login, its grants and every ticket it holds. */
export function revokeVehicle(registry: Registry, vid: string, nowMs = Date.now()): void {
  const { db } = registry;
  registry.requireVehicle(vid);
  const now = Math.floor(nowMs / 1000);
  db.transaction(() => {
    db.prepare('UPDATE vehicles SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL').run(now, vid);
    db.prepare('UPDATE grants SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL').run(now, vid);
    db.prepare('UPDATE tickets SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL').run(now, vid);
    db.prepare('DELETE FROM mqtt_users WHERE username = ?').run(usernames.vehicle(vid));
    db.prepare("INSERT INTO revocations(kind, target, ts) VALUES ('vehicle', ?, ?)").run(vid, now);
    registry.audit('cli', 'revoke.vehicle', vid, undefined, nowMs);
  })();
}

/** Ends a grant; the service then revokes the tickets that no other grant covers. */
export function revokeGrant(registry: Registry, id: number, nowMs = Date.now()): void {
  const { db } = registry;
  const row = db.prepare('SELECT revoked_at FROM grants WHERE id = ?').get(id) as
    | { revoked_at: number | null }
    | undefined;
  if (!row) throw new RegistryError('NOT_FOUND', `unknown grant ${id}`);
  if (row.revoked_at !== null) throw new RegistryError('EXISTS', `grant ${id} is already revoked`);
  const now = Math.floor(nowMs / 1000);
  db.transaction(() => {
    db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ?').run(now, id);
    db.prepare("INSERT INTO revocations(kind, target, ts) VALUES ('grant', ?, ?)").run(String(id), now);
    registry.audit('cli', 'revoke.grant', String(id), undefined, nowMs);
  })();
}
