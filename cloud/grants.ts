/**
 * Grants and revocations: what a vehicle may charge at, and ending grants, tickets and vehicles (each with a
 * revocations row and an audit row). Each function is one unit of work's worth: the registry runs it in one.
 */
import { CLOCK_SKEW_SECONDS, unixSeconds, usernames } from '../shared/index.js';
import { audit } from './audit.js';
import { type GrantSpec, RegistryError, requireId } from './registry-records.js';
import type { CloudReads, CloudTx } from './store/cloud-store.js';
import type { GrantRow, PileRow } from './store/records.js';

export function covers(grant: GrantRow, pile: PileRow): boolean {
  if (grant.scope === 'all') return true;
  if (grant.scope === 'site') return grant.target === pile.site;
  return grant.target === pile.pid;
}

/** The grant that entitles the vehicle to the pile: the newest of its active `grants` that covers it. */
export function entitlement(grants: readonly GrantRow[], pile: PileRow): GrantRow | undefined {
  return grants.find((g) => covers(g, pile));
}

export async function requireVehicle(tx: CloudReads, vid: string): Promise<void> {
  requireId(vid, 'vehicle id');
  if (!(await tx.vehicle(vid))) throw new RegistryError('NOT_FOUND', `unknown vehicle ${vid}`);
}

export async function requirePile(tx: CloudReads, pid: string): Promise<PileRow> {
  requireId(pid, 'pile id');
  const pile = await tx.pile(pid);
  if (!pile) throw new RegistryError('NOT_FOUND', `unknown pile ${pid}`);
  return pile;
}

export async function addGrant(tx: CloudTx, vid: string, spec: GrantSpec, nowMs: number): Promise<number> {
  await requireVehicle(tx, vid);
  let target: string | null = null;
  if (spec.scope === 'pile') target = (await requirePile(tx, spec.target ?? '')).pid;
  else if (spec.scope === 'site') {
    target = spec.target ?? '';
    if (!(await tx.siteHasPile(target)))
      throw new RegistryError('NOT_FOUND', `no pile at site ${JSON.stringify(target)}`);
  }
  const now = unixSeconds(nowMs);
  const nbf = spec.nbf ?? now;
  if (spec.exp !== undefined && spec.exp <= nbf)
    throw new RegistryError('INVALID', 'grant ends before it starts');
  if (spec.maxWh !== undefined && !(Number.isInteger(spec.maxWh) && spec.maxWh >= 1)) {
    throw new RegistryError('INVALID', 'maxWh must be a positive integer');
  }
  const id = await tx.insertGrant({
    vid,
    scope: spec.scope,
    target,
    nbf,
    exp: spec.exp ?? null,
    max_wh: spec.maxWh ?? null,
    created_at: now,
  });
  await audit(tx, 'cli', 'grant', vid, now, { id, scope: spec.scope, target, nbf, exp: spec.exp ?? null });
  return id;
}

/** Revokes one ticket; returns its pile, whose control body must now list it. */
export async function revokeTicket(tx: CloudTx, tid: string, nowMs: number): Promise<string> {
  const ticket = await tx.ticket(tid);
  if (!ticket) throw new RegistryError('NOT_FOUND', `unknown ticket ${tid}`);
  if (ticket.revoked_at !== null) throw new RegistryError('EXISTS', `ticket ${tid} is already revoked`);
  const now = unixSeconds(nowMs);
  await tx.setTicketRevoked(tid, now);
  await tx.recordRevocation('ticket', tid, now);
  await audit(tx, 'cli', 'revoke.ticket', tid, now);
  return ticket.pid;
}

/**
 * Ends a vehicle: its MQTT login, its grants and every ticket it holds. Returns the piles where it holds a ticket
 * that may still be valid: each of their control bodies must now name the vehicle (PROTOCOL §7 `revokedVehicles`).
 */
export async function revokeVehicle(tx: CloudTx, vid: string, nowMs: number): Promise<string[]> {
  await requireVehicle(tx, vid);
  const now = unixSeconds(nowMs);
  const piles: string[] = [];
  for (const pid of await tx.pileIds()) {
    const latest = await tx.latestTicket(vid, pid);
    if (latest && latest.exp >= now - CLOCK_SKEW_SECONDS) piles.push(pid);
  }
  await tx.setVehicleRevoked(vid, now);
  await tx.revokeGrantsOfVehicle(vid, now);
  await tx.revokeTicketsOfVehicle(vid, now);
  await tx.deleteLogin(usernames.vehicle(vid));
  await tx.recordRevocation('vehicle', vid, now);
  await audit(tx, 'cli', 'revoke.vehicle', vid, now);
  return piles;
}

/** Ends a grant; the service then revokes the tickets that no other grant covers. */
export async function revokeGrant(tx: CloudTx, id: number, nowMs: number): Promise<void> {
  const grant = await tx.grant(id);
  if (!grant) throw new RegistryError('NOT_FOUND', `unknown grant ${id}`);
  if (grant.revoked_at !== null) throw new RegistryError('EXISTS', `grant ${id} is already revoked`);
  const now = unixSeconds(nowMs);
  await tx.setGrantRevoked(id, now);
  await tx.recordRevocation('grant', String(id), now);
  await audit(tx, 'cli', 'revoke.grant', String(id), now);
}

/** Ends every grant of the vehicle that covers the pile (whatever its dates); returns how many. */
export async function revokeGrantsCovering(
  tx: CloudTx,
  vid: string,
  pid: string,
  nowMs: number,
): Promise<number> {
  const pile = await requirePile(tx, pid);
  const covering = (await tx.grantsOfVehicle(vid)).filter((g) => g.revoked_at === null && covers(g, pile));
  for (const grant of covering) await revokeGrant(tx, grant.id, nowMs);
  return covering.length;
}
