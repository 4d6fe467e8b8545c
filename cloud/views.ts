/** Read-only views for `evauth-cloud list` and `show` (no secrets: keys and hashes are never printed). */

import type { Registry } from './registry.js';
import { RegistryError } from './registry-records.js';
import type { CloudReads } from './store/cloud-store.js';

type Row = Record<string, unknown>;

/** The named columns of a record, in that order. */
function pick<T extends object>(record: T, columns: readonly (keyof T & string)[]): Row {
  return Object.fromEntries(columns.map((c) => [c, record[c]]));
}

const LISTS: Record<string, (tx: CloudReads) => Promise<Row[]>> = {
  vehicles: async (tx) =>
    (await tx.vehicles()).map((v) => pick(v, ['vid', 'name', 'created_at', 'revoked_at'])),
  piles: async (tx) =>
    (await tx.piles()).map((p) =>
      pick(p, [
        'pid',
        'gid',
        'site',
        'name',
        'key_offset',
        'control_seq',
        'price_per_kwh',
        'currency',
        'connectors',
        'ocpp_station',
      ]),
    ),
  gateways: async (tx) => {
    const piles = await tx.piles();
    return (await tx.gateways()).map((g) => ({
      ...pick(g, ['gid', 'name', 'created_at']),
      piles: piles.filter((p) => p.gid === g.gid).length,
    }));
  },
  grants: async (tx) =>
    (await tx.grants()).map((g) =>
      pick(g, ['id', 'vid', 'scope', 'target', 'nbf', 'exp', 'max_wh', 'revoked_at']),
    ),
  tickets: async (tx) =>
    (await tx.recentTickets(500)).map((t) =>
      pick(t, ['tid', 'vid', 'pid', 'off', 'iat', 'exp', 'revoked_at']),
    ),
  audit: async (tx) => (await tx.recentAudit(200)).map((a) => ({ ...a })),
};

const SHOW: Record<string, (tx: CloudReads, id: string) => Promise<Row | undefined>> = {
  vehicle: async (tx, vid) => {
    const vehicle = await tx.vehicle(vid);
    if (!vehicle) return undefined;
    const grants = (await tx.grantsOfVehicle(vid)).map((g) =>
      pick(g, ['id', 'scope', 'target', 'nbf', 'exp', 'revoked_at']),
    );
    return { ...pick(vehicle, ['vid', 'name', 'created_at', 'revoked_at']), grants };
  },
  pile: async (tx, pid) => {
    const pile = await tx.pile(pid);
    return (
      pile &&
      pick(pile, [
        'pid',
        'gid',
        'site',
        'name',
        'address',
        'lat',
        'lon',
        'connectors',
        'price_per_kwh',
        'currency',
        'key_offset',
        'control_seq',
        'control_state',
        'sign_key',
        'ocpp_station',
      ])
    );
  },
  gateway: async (tx, gid) => {
    const gateway = await tx.gateway(gid);
    if (!gateway) return undefined;
    const piles = (await tx.pilesOfGateway(gid)).map((p) => p.pid);
    return { ...pick(gateway, ['gid', 'name', 'created_at']), piles };
  },
  grant: async (tx, id) => {
    const grant = /^\d{1,15}$/.test(id) ? await tx.grant(Number(id)) : undefined;
    return grant && { ...grant };
  },
  ticket: async (tx, tid) => {
    const ticket = await tx.ticket(tid);
    return (
      ticket && pick(ticket, ['tid', 'vid', 'pid', 'grant_id', 'off', 'iat', 'nbf', 'exp', 'revoked_at'])
    );
  },
};

function choose<T>(table: Record<string, T>, what: string, verb: string): T {
  const chosen = Object.hasOwn(table, what) ? table[what] : undefined;
  if (!chosen)
    throw new RegistryError(
      'INVALID',
      `cannot ${verb} ${JSON.stringify(what)}; choose one of ${Object.keys(table).join(', ')}`,
    );
  return chosen;
}

export async function listRows(registry: Registry, what: string, json: boolean): Promise<string> {
  const list = choose(LISTS, what, 'list');
  const rows = await registry.store.read(list);
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

export async function showEntity(registry: Registry, kind: string, id: string): Promise<string> {
  const show = choose(SHOW, kind, 'show');
  const row = await registry.store.read((tx) => show(tx, id));
  if (!row) throw new RegistryError('NOT_FOUND', `unknown ${kind} ${id}`);
  return JSON.stringify(row, null, 2);
}
