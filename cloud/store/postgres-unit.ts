/**
 * The reads and writes of a unit of work on PostgreSQL: one per unit, bound to the pooled connection that runs
 * the unit's transaction. Statements are named, so each connection prepares each of them once. New tickets,
 * retained puts and audit rows are held back and sent in batches (postgres-writes.ts). The unit remembers which
 * retained topics it wrote: the store gives them their final rev just before commit.
 */
import type pg from 'pg';
import type { CloudTx, LockPileOptions } from './cloud-store.js';
import { type HeldTable, HeldWrites } from './postgres-writes.js';
import type * as Row from './records.js';
import type { UnitMode } from './sqlite-unit.js';

/** Every statement text gets one name, shared by all connections (each prepares it on first use). */
const statementNames = new Map<string, string>();
function named(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `evauth_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/** tickets' columns as TicketRow has them (not the table's ordering column `seq`) */
const TICKET = 'tid, vid, pid, grant_id, off, iat, nbf, exp, sealed, revoked_at, sign_key';

export class PostgresUnit implements CloudTx {
  /** retained topics written in this unit */
  readonly retainedTopics = new Set<string>();
  private readonly held = new HeldWrites();

  constructor(
    private readonly client: pg.ClientBase,
    private mode: UnitMode,
  ) {}

  /** The store closes the unit when its work settles: a `tx` kept past it fails loudly. */
  close(): void {
    this.mode = 'closed';
  }

  private live(access: 'read' | 'write'): void {
    if (this.mode === 'closed') throw new Error('cloud store: used outside its unit of work');
    if (access === 'write' && this.mode !== 'write')
      throw new Error('cloud store: a read unit of work cannot write');
  }

  private async query<T extends pg.QueryResultRow>(
    access: 'read' | 'write',
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<T>> {
    this.live(access);
    return this.client.query<T>({ name: named(text), text, values });
  }

  /** Sends the writes held back for `table` (all of them when omitted); the store calls it before COMMIT. */
  async sendHeld(table?: HeldTable): Promise<void> {
    await this.held.send((text, values) => this.query('write', text, values), table);
  }

  private async get<T extends pg.QueryResultRow>(text: string, ...values: unknown[]): Promise<T | undefined> {
    return (await this.query<T>('read', text, values)).rows[0];
  }

  private async all<T extends pg.QueryResultRow>(text: string, ...values: unknown[]): Promise<T[]> {
    return (await this.query<T>('read', text, values)).rows;
  }

  /** The first column of every row. */
  private async column<T>(text: string, ...values: unknown[]): Promise<T[]> {
    return (await this.query<{ c: T }>('read', text, values)).rows.map((r) => r.c);
  }

  /** Runs a write; how many rows it touched. */
  private async run(text: string, ...values: unknown[]): Promise<number> {
    return (await this.query('write', text, values)).rowCount ?? 0;
  }

  // --- reads

  login(username: string) {
    return this.get<Row.LoginRow>('SELECT * FROM mqtt_users WHERE username = $1', username);
  }
  logins() {
    return this.all<Row.LoginRow>('SELECT * FROM mqtt_users ORDER BY username');
  }

  vehicle(vid: string) {
    return this.get<Row.VehicleRow>('SELECT * FROM vehicles WHERE vid = $1', vid);
  }
  vehicles() {
    return this.all<Row.VehicleRow>('SELECT * FROM vehicles ORDER BY vid');
  }
  vehicleIds() {
    return this.column<string>('SELECT vid AS c FROM vehicles ORDER BY vid');
  }

  gateway(gid: string) {
    return this.get<Row.GatewayRow>('SELECT * FROM gateways WHERE gid = $1', gid);
  }
  gateways() {
    return this.all<Row.GatewayRow>('SELECT * FROM gateways ORDER BY gid');
  }

  pile(pid: string) {
    return this.get<Row.PileRow>('SELECT * FROM piles WHERE pid = $1', pid);
  }
  piles() {
    return this.all<Row.PileRow>('SELECT * FROM piles ORDER BY pid');
  }
  pileIds() {
    return this.column<string>('SELECT pid AS c FROM piles ORDER BY pid');
  }
  pilesOfGateway(gid: string) {
    return this.all<Row.PileRow>('SELECT * FROM piles WHERE gid = $1 ORDER BY pid', gid);
  }
  pileIdsWithoutSignKey() {
    return this.column<string>('SELECT pid AS c FROM piles WHERE sign_key IS NULL ORDER BY pid');
  }
  async siteHasPile(site: string) {
    return (await this.get('SELECT 1 FROM piles WHERE site = $1 LIMIT 1', site)) !== undefined;
  }

  grant(id: number) {
    return this.get<Row.GrantRow>('SELECT * FROM grants WHERE id = $1', id);
  }
  grants() {
    return this.all<Row.GrantRow>('SELECT * FROM grants ORDER BY id');
  }
  grantsOfVehicle(vid: string) {
    return this.all<Row.GrantRow>('SELECT * FROM grants WHERE vid = $1 ORDER BY id', vid);
  }
  activeGrants(vid: string, now: number) {
    return this.all<Row.GrantRow>(
      `SELECT g.* FROM grants g JOIN vehicles v ON v.vid = g.vid
       WHERE g.vid = $1 AND g.revoked_at IS NULL AND v.revoked_at IS NULL AND g.nbf <= $2
         AND (g.exp IS NULL OR g.exp > $2)
       ORDER BY g.id DESC`,
      vid,
      now,
    );
  }

  async ticket(tid: string) {
    await this.sendHeld('tickets');
    return this.get<Row.TicketRow>(`SELECT ${TICKET} FROM tickets WHERE tid = $1`, tid);
  }
  async latestTicket(vid: string, pid: string) {
    if (this.held.holdsPair(vid, pid)) await this.sendHeld('tickets');
    return this.get<Row.TicketRow>(
      `SELECT ${TICKET} FROM tickets WHERE vid = $1 AND pid = $2 ORDER BY iat DESC, seq DESC LIMIT 1`,
      vid,
      pid,
    );
  }
  async recentTickets(limit: number) {
    await this.sendHeld('tickets');
    return this.all<Row.TicketRow>(
      `SELECT ${TICKET} FROM tickets ORDER BY iat DESC, seq DESC LIMIT $1`,
      limit,
    );
  }
  async offsetsInUse(pid: string, expAtLeast: number) {
    await this.sendHeld('tickets');
    return this.column<number>(
      'SELECT DISTINCT off AS c FROM tickets WHERE pid = $1 AND exp >= $2 ORDER BY off',
      pid,
      expAtLeast,
    );
  }
  async revokedTicketsOfPile(pid: string, expAtLeast: number, limit: number) {
    await this.sendHeld('tickets');
    return this.all<Pick<Row.TicketRow, 'tid' | 'exp'>>(
      `SELECT t.tid, t.exp FROM tickets t WHERE t.pid = $1 AND t.revoked_at IS NOT NULL AND t.exp >= $2
         AND NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.vid = t.vid AND v.revoked_at IS NOT NULL)
       ORDER BY t.revoked_at DESC, t.tid LIMIT $3`,
      pid,
      expAtLeast,
      limit,
    );
  }
  async revokedVehiclesOfPile(pid: string, expAtLeast: number, limit: number) {
    await this.sendHeld('tickets');
    return this.all<{ vid: string; exp: number }>(
      `SELECT t.vid, MAX(t.exp) AS exp FROM tickets t JOIN vehicles v ON v.vid = t.vid
       WHERE t.pid = $1 AND t.exp >= $2 AND v.revoked_at IS NOT NULL
       GROUP BY t.vid ORDER BY t.vid LIMIT $3`,
      pid,
      expAtLeast,
      limit,
    );
  }

  async retainedPayload(topic: string) {
    if (this.held.holdsTopic(topic)) await this.sendHeld('retained');
    return (await this.get<{ payload: string }>('SELECT payload FROM retained WHERE topic = $1', topic))
      ?.payload;
  }
  async retainedSince(rev: number) {
    await this.sendHeld('retained');
    return this.all<Row.RetainedRow>(
      'SELECT rev, topic, payload FROM retained WHERE rev > $1 ORDER BY rev',
      rev,
    );
  }

  async recentAudit(limit: number) {
    await this.sendHeld('audit');
    return this.all<Row.AuditRow>('SELECT * FROM audit ORDER BY id DESC LIMIT $1', limit);
  }

  // --- writes

  async putLogin(login: Row.LoginRow) {
    await this.run(
      `INSERT INTO mqtt_users(username, scrypt_hash, mosquitto_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT(username) DO UPDATE SET scrypt_hash = excluded.scrypt_hash,
         mosquitto_hash = excluded.mosquitto_hash, created_at = excluded.created_at`,
      login.username,
      login.scrypt_hash,
      login.mosquitto_hash,
      login.created_at,
    );
  }
  async deleteLogin(username: string) {
    await this.run('DELETE FROM mqtt_users WHERE username = $1', username);
  }

  async insertVehicle(v: Omit<Row.VehicleRow, 'revoked_at'>) {
    await this.run(
      'INSERT INTO vehicles(vid, name, vehicle_key_sealed, created_at) VALUES ($1, $2, $3, $4)',
      v.vid,
      v.name,
      v.vehicle_key_sealed,
      v.created_at,
    );
  }
  async setVehicleRevoked(vid: string, at: number) {
    await this.run('UPDATE vehicles SET revoked_at = $1 WHERE vid = $2 AND revoked_at IS NULL', at, vid);
  }

  async insertGateway(g: Row.GatewayRow) {
    await this.run(
      'INSERT INTO gateways(gid, name, created_at) VALUES ($1, $2, $3)',
      g.gid,
      g.name,
      g.created_at,
    );
  }

  async insertPile(
    p: Omit<
      Row.PileRow,
      'key_offset' | 'control_seq' | 'control_state' | 'ocpp_station' | 'ocpp_password_sealed'
    >,
  ) {
    await this.run(
      `INSERT INTO piles(pid, gid, site, name, address, lat, lon, connectors, price_per_kwh, currency,
         root_key_sealed, created_at, sign_key, signing_key_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      p.pid,
      p.gid,
      p.site,
      p.name,
      p.address,
      p.lat,
      p.lon,
      p.connectors,
      p.price_per_kwh,
      p.currency,
      p.root_key_sealed,
      p.created_at,
      p.sign_key,
      p.signing_key_sealed,
    );
  }
  async setPileCharger(pid: string, ocpp: { station: string; passwordSealed: Uint8Array } | null) {
    await this.run(
      'UPDATE piles SET ocpp_station = $1, ocpp_password_sealed = $2 WHERE pid = $3',
      ocpp?.station ?? null,
      ocpp ? Buffer.from(ocpp.passwordSealed) : null,
      pid,
    );
  }
  async lockPile(pid: string, options: LockPileOptions = {}) {
    // READ COMMITTED: the row comes back as the last unit that held the lock committed it
    const sql = options.skipLocked
      ? 'SELECT * FROM piles WHERE pid = $1 FOR UPDATE SKIP LOCKED'
      : 'SELECT * FROM piles WHERE pid = $1 FOR UPDATE';
    return (await this.query<Row.PileRow>('write', sql, [pid])).rows[0];
  }
  async setKeyOffset(pid: string, keyOffset: number) {
    await this.run('UPDATE piles SET key_offset = $1 WHERE pid = $2', keyOffset, pid);
  }
  async setControl(pid: string, seq: number, state: string) {
    await this.run('UPDATE piles SET control_seq = $1, control_state = $2 WHERE pid = $3', seq, state, pid);
  }
  async setSignKey(pid: string, signKey: string, signingKeySealed: Uint8Array | null) {
    await this.run(
      'UPDATE piles SET sign_key = $1, signing_key_sealed = $2 WHERE pid = $3',
      signKey,
      signingKeySealed,
      pid,
    );
  }

  async insertGrant(g: Omit<Row.GrantRow, 'id' | 'revoked_at'>) {
    const result = await this.query<{ id: number }>(
      'write',
      `INSERT INTO grants(vid, scope, target, nbf, exp, max_wh, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       RETURNING id`,
      [g.vid, g.scope, g.target, g.nbf, g.exp, g.max_wh, g.created_at],
    );
    return result.rows[0]!.id;
  }
  async setGrantRevoked(id: number, at: number) {
    await this.run('UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', at, id);
  }
  async revokeGrantsOfVehicle(vid: string, at: number) {
    await this.run('UPDATE grants SET revoked_at = $1 WHERE vid = $2 AND revoked_at IS NULL', at, vid);
  }

  async insertTicket(t: Row.IssuedTicket) {
    this.live('write');
    this.held.addTicket(t);
  }
  async setTicketRevoked(tid: string, at: number) {
    await this.sendHeld('tickets');
    await this.run('UPDATE tickets SET revoked_at = $1 WHERE tid = $2 AND revoked_at IS NULL', at, tid);
  }
  async revokeTicketsOfVehicle(vid: string, at: number) {
    await this.sendHeld('tickets');
    await this.run('UPDATE tickets SET revoked_at = $1 WHERE vid = $2 AND revoked_at IS NULL', at, vid);
  }
  async revokeLiveTicketsOfPair(vid: string, pid: string, at: number, expAtLeast: number) {
    await this.sendHeld('tickets');
    return this.run(
      'UPDATE tickets SET revoked_at = $1 WHERE vid = $2 AND pid = $3 AND revoked_at IS NULL AND exp >= $4',
      at,
      vid,
      pid,
      expAtLeast,
    );
  }
  async recordRevocation(kind: Row.RevocationKind, target: string, at: number) {
    await this.run('INSERT INTO revocations(kind, target, ts) VALUES ($1, $2, $3)', kind, target, at);
  }

  async setRetained(topic: string, payload: string, at: number) {
    if (this.held.holdsTopic(topic)) await this.sendHeld('retained');
    const stored = await this.run(
      `INSERT INTO retained(topic, payload, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT(topic) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at,
         rev = nextval('retained_rev')
       WHERE retained.payload IS DISTINCT FROM excluded.payload`,
      topic,
      payload,
      at,
    );
    if (stored > 0) this.retainedTopics.add(topic);
    return stored > 0;
  }
  async putRetained(topic: string, payload: string, at: number) {
    this.live('write');
    this.held.putRetained(topic, payload, at);
    this.retainedTopics.add(topic);
  }

  async rememberNonce(vid: string, nonce: string, at: number) {
    // a unit holding the same (vid, nonce) uncommitted makes this one wait for its outcome
    const stored = await this.run(
      'INSERT INTO request_nonces(vid, nonce, ts) VALUES ($1, $2, $3) ON CONFLICT (vid, nonce) DO NOTHING',
      vid,
      nonce,
      at,
    );
    return stored > 0;
  }
  async forgetNoncesBefore(ts: number) {
    await this.run('DELETE FROM request_nonces WHERE ts < $1', ts);
  }

  async audit(entry: Row.AuditEntry) {
    this.live('write');
    this.held.addAudit(entry);
  }
}
