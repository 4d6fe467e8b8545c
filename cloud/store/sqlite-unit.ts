/**
 * The reads and writes of a unit of work on SQLite (better-sqlite3). One object per connection: it prepares each
 * statement once (on the issuing path preparing costs more than running), and the store opens it for one unit at
 * a time, so a `tx` kept past its unit fails loudly instead of writing outside a transaction.
 */
import type Database from 'better-sqlite3';
import type { CloudTx, LockPileOptions } from './cloud-store.js';
import type * as Row from './records.js';

export type UnitMode = 'closed' | 'read' | 'write';

export class SqliteUnit implements CloudTx {
  private mode: UnitMode = 'closed';
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** The store opens the unit for one unit of work and closes it when that ends. */
  setMode(mode: UnitMode): void {
    this.mode = mode;
  }

  private live(access: 'read' | 'write'): void {
    if (this.mode === 'closed') throw new Error('cloud store: used outside its unit of work');
    if (access === 'write' && this.mode !== 'write')
      throw new Error('cloud store: a read unit of work cannot write');
  }

  private statement(sql: string, access: 'read' | 'write'): Database.Statement {
    this.live(access);
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  // The statements run synchronously; each public method is `async`, so a failure is a rejection as with any
  // other store, and a call costs one promise.

  private get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.statement(sql, 'read').get(...params) as T | undefined;
  }

  private all<T>(sql: string, ...params: unknown[]): T[] {
    return this.statement(sql, 'read').all(...params) as T[];
  }

  /** The first column of every row (these statements are used for nothing else). */
  private column<T>(sql: string, ...params: unknown[]): T[] {
    return this.statement(sql, 'read')
      .pluck()
      .all(...params) as T[];
  }

  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.statement(sql, 'write').run(...params);
  }

  // --- reads

  async login(username: string) {
    return this.get<Row.LoginRow>('SELECT * FROM mqtt_users WHERE username = ?', username);
  }
  async logins() {
    return this.all<Row.LoginRow>('SELECT * FROM mqtt_users ORDER BY username');
  }

  async vehicle(vid: string) {
    return this.get<Row.VehicleRow>('SELECT * FROM vehicles WHERE vid = ?', vid);
  }
  async vehicles() {
    return this.all<Row.VehicleRow>('SELECT * FROM vehicles ORDER BY vid');
  }
  async vehicleIds() {
    return this.column<string>('SELECT vid FROM vehicles ORDER BY vid');
  }

  async gateway(gid: string) {
    return this.get<Row.GatewayRow>('SELECT * FROM gateways WHERE gid = ?', gid);
  }
  async gateways() {
    return this.all<Row.GatewayRow>('SELECT * FROM gateways ORDER BY gid');
  }

  async pile(pid: string) {
    return this.get<Row.PileRow>('SELECT * FROM piles WHERE pid = ?', pid);
  }
  async piles() {
    return this.all<Row.PileRow>('SELECT * FROM piles ORDER BY pid');
  }
  async pileIds() {
    return this.column<string>('SELECT pid FROM piles ORDER BY pid');
  }
  async pilesOfGateway(gid: string) {
    return this.all<Row.PileRow>('SELECT * FROM piles WHERE gid = ? ORDER BY pid', gid);
  }
  async pileIdsWithoutSignKey() {
    return this.column<string>('SELECT pid FROM piles WHERE sign_key IS NULL ORDER BY pid');
  }
  async siteHasPile(site: string) {
    return this.get('SELECT 1 FROM piles WHERE site = ? LIMIT 1', site) !== undefined;
  }

  async grant(id: number) {
    return this.get<Row.GrantRow>('SELECT * FROM grants WHERE id = ?', id);
  }
  async grants() {
    return this.all<Row.GrantRow>('SELECT * FROM grants ORDER BY id');
  }
  async grantsOfVehicle(vid: string) {
    return this.all<Row.GrantRow>('SELECT * FROM grants WHERE vid = ? ORDER BY id', vid);
  }
  async activeGrants(vid: string, now: number) {
    return this.all<Row.GrantRow>(
      `SELECT g.* FROM grants g JOIN vehicles v ON v.vid = g.vid
       WHERE g.vid = ? AND g.revoked_at IS NULL AND v.revoked_at IS NULL AND g.nbf <= ? AND (g.exp IS NULL OR g.exp > ?)
       ORDER BY g.id DESC`,
      vid,
      now,
      now,
    );
  }

  async ticket(tid: string) {
    return this.get<Row.TicketRow>('SELECT * FROM tickets WHERE tid = ?', tid);
  }
  async latestTicket(vid: string, pid: string) {
    return this.get<Row.TicketRow>(
      'SELECT * FROM tickets WHERE vid = ? AND pid = ? ORDER BY iat DESC, rowid DESC LIMIT 1',
      vid,
      pid,
    );
  }
  async recentTickets(limit: number) {
    return this.all<Row.TicketRow>('SELECT * FROM tickets ORDER BY iat DESC, rowid DESC LIMIT ?', limit);
  }
  async offsetsInUse(pid: string, expAtLeast: number) {
    return this.column<number>(
      'SELECT DISTINCT off FROM tickets WHERE pid = ? AND exp >= ? ORDER BY off',
      pid,
      expAtLeast,
    );
  }
  async revokedTicketsOfPile(pid: string, expAtLeast: number, limit: number) {
    return this.all<Pick<Row.TicketRow, 'tid' | 'exp'>>(
      `SELECT t.tid, t.exp FROM tickets t WHERE t.pid = ? AND t.revoked_at IS NOT NULL AND t.exp >= ?
         AND NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.vid = t.vid AND v.revoked_at IS NOT NULL)
       ORDER BY t.revoked_at DESC, t.tid LIMIT ?`,
      pid,
      expAtLeast,
      limit,
    );
  }
  async revokedVehiclesOfPile(pid: string, expAtLeast: number, limit: number) {
    return this.all<{ vid: string; exp: number }>(
      `SELECT t.vid, MAX(t.exp) AS exp FROM tickets t JOIN vehicles v ON v.vid = t.vid
       WHERE t.pid = ? AND t.exp >= ? AND v.revoked_at IS NOT NULL
       GROUP BY t.vid ORDER BY t.vid LIMIT ?`,
      pid,
      expAtLeast,
      limit,
    );
  }

  async retainedPayload(topic: string) {
    return this.get<{ payload: string }>('SELECT payload FROM retained WHERE topic = ?', topic)?.payload;
  }
  async retainedSince(rev: number) {
    return this.all<Row.RetainedRow>(
      'SELECT rev, topic, payload FROM retained WHERE rev > ? ORDER BY rev',
      rev,
    );
  }

  async recentAudit(limit: number) {
    return this.all<Row.AuditRow>('SELECT * FROM audit ORDER BY id DESC LIMIT ?', limit);
  }

  // --- writes

  async putLogin(login: Row.LoginRow) {
    this.run(
      `INSERT INTO mqtt_users(username, scrypt_hash, mosquitto_hash, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(username) DO UPDATE SET scrypt_hash = excluded.scrypt_hash,
         mosquitto_hash = excluded.mosquitto_hash, created_at = excluded.created_at`,
      login.username,
      login.scrypt_hash,
      login.mosquitto_hash,
      login.created_at,
    );
  }
  async deleteLogin(username: string) {
    this.run('DELETE FROM mqtt_users WHERE username = ?', username);
  }

  async insertVehicle(v: Omit<Row.VehicleRow, 'revoked_at'>) {
    this.run(
      'INSERT INTO vehicles(vid, name, vehicle_key_sealed, created_at) VALUES (?, ?, ?, ?)',
      v.vid,
      v.name,
      v.vehicle_key_sealed,
      v.created_at,
    );
  }
  async setVehicleRevoked(vid: string, at: number) {
    this.run('UPDATE vehicles SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL', at, vid);
  }

  async insertGateway(g: Row.GatewayRow) {
    this.run('INSERT INTO gateways(gid, name, created_at) VALUES (?, ?, ?)', g.gid, g.name, g.created_at);
  }

  async insertPile(
    p: Omit<
      Row.PileRow,
      'key_offset' | 'control_seq' | 'control_state' | 'ocpp_station' | 'ocpp_password_sealed'
    >,
  ) {
    this.run(
      `INSERT INTO piles(pid, gid, site, name, address, lat, lon, connectors, price_per_kwh, currency,
         root_key_sealed, created_at, sign_key, signing_key_sealed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    this.run(
      'UPDATE piles SET ocpp_station = ?, ocpp_password_sealed = ? WHERE pid = ?',
      ocpp?.station ?? null,
      ocpp ? Buffer.from(ocpp.passwordSealed) : null,
      pid,
    );
  }
  async lockPile(pid: string, _options?: LockPileOptions) {
    // a write unit holds SQLite's write lock from its BEGIN IMMEDIATE: every row is ours already
    this.live('write');
    return this.get<Row.PileRow>('SELECT * FROM piles WHERE pid = ?', pid);
  }
  async setKeyOffset(pid: string, keyOffset: number) {
    this.run('UPDATE piles SET key_offset = ? WHERE pid = ?', keyOffset, pid);
  }
  async setControl(pid: string, seq: number, state: string) {
    this.run('UPDATE piles SET control_seq = ?, control_state = ? WHERE pid = ?', seq, state, pid);
  }
  async setSignKey(pid: string, signKey: string, signingKeySealed: Uint8Array | null) {
    this.run(
      'UPDATE piles SET sign_key = ?, signing_key_sealed = ? WHERE pid = ?',
      signKey,
      signingKeySealed,
      pid,
    );
  }

  async insertGrant(g: Omit<Row.GrantRow, 'id' | 'revoked_at'>) {
    const info = this.run(
      'INSERT INTO grants(vid, scope, target, nbf, exp, max_wh, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      g.vid,
      g.scope,
      g.target,
      g.nbf,
      g.exp,
      g.max_wh,
      g.created_at,
    );
    return Number(info.lastInsertRowid);
  }
  async setGrantRevoked(id: number, at: number) {
    this.run('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id);
  }
  async revokeGrantsOfVehicle(vid: string, at: number) {
    this.run('UPDATE grants SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL', at, vid);
  }

  async insertTicket(t: Row.IssuedTicket) {
    this.run(
      `INSERT INTO tickets(tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed, sign_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      t.tid,
      t.vid,
      t.pid,
      t.grant_id,
      t.off,
      t.iat,
      t.nbf,
      t.exp,
      t.ticket,
      t.sealed,
      t.sign_key,
    );
  }
  async setTicketRevoked(tid: string, at: number) {
    this.run('UPDATE tickets SET revoked_at = ? WHERE tid = ? AND revoked_at IS NULL', at, tid);
  }
  async revokeTicketsOfVehicle(vid: string, at: number) {
    this.run('UPDATE tickets SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL', at, vid);
  }
  async revokeLiveTicketsOfPair(vid: string, pid: string, at: number, expAtLeast: number) {
    const info = this.run(
      'UPDATE tickets SET revoked_at = ? WHERE vid = ? AND pid = ? AND revoked_at IS NULL AND exp >= ?',
      at,
      vid,
      pid,
      expAtLeast,
    );
    return info.changes;
  }
  async recordRevocation(kind: Row.RevocationKind, target: string, at: number) {
    this.run('INSERT INTO revocations(kind, target, ts) VALUES (?, ?, ?)', kind, target, at);
  }

  async setRetained(topic: string, payload: string, at: number) {
    if (
      this.get<{ payload: string }>('SELECT payload FROM retained WHERE topic = ?', topic)?.payload ===
      payload
    )
      return false;
    this.writeRetained(topic, payload, at);
    return true;
  }
  async putRetained(topic: string, payload: string, at: number) {
    this.writeRetained(topic, payload, at);
  }
  private writeRetained(topic: string, payload: string, at: number) {
    this.run(
      'INSERT OR REPLACE INTO retained(topic, payload, updated_at) VALUES (?, ?, ?)',
      topic,
      payload,
      at,
    );
  }

  async rememberNonce(vid: string, nonce: string, at: number) {
    const info = this.run(
      'INSERT OR IGNORE INTO request_nonces(vid, nonce, ts) VALUES (?, ?, ?)',
      vid,
      nonce,
      at,
    );
    return info.changes > 0;
  }
  async forgetNoncesBefore(ts: number) {
    this.run('DELETE FROM request_nonces WHERE ts < ?', ts);
  }

  async audit(entry: Row.AuditEntry) {
    this.run(
      'INSERT INTO audit(ts, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)',
      entry.ts,
      entry.actor,
      entry.action,
      entry.subject,
      entry.detail,
    );
  }
}
