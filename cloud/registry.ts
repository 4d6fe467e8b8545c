/** The cloud registry: vehicles, piles, gateways, grants and MQTT logins in cloud.db, with an audit row per change. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { type Principal, parseUsername, usernames } from '../broker/rights.js';
import { b64uEncode, isValidId, type PileKeystoreEntry, type VehicleProvisioning } from '../shared/index.js';
import { type Db, openDatabase, statement } from './db.js';
import {
  generatePassword,
  loadOrCreateMasterKey,
  mosquittoHash,
  openSecret,
  scryptHash,
  sealSecret,
  verifyScrypt,
  writePrivateFile,
} from './secrets.js';

export const CLOUD_SECRET_FILE = 'cloud.secret';
export const DB_FILE = 'cloud.db';

export type RegistryErrorCode = 'NOT_FOUND' | 'EXISTS' | 'INVALID' | 'NOT_INITIALISED';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectorSpec {
  id: number;
  maxW: number;
  kind?: string;
}

export interface PileSpec {
  gid?: string;
  site: string;
  name: string;
  address: string;
  lat: number;
  lon: number;
  connectors: ConnectorSpec[];
  pricePerKWh: string;
  currency: string;
}

export interface PileRow {
  pid: string;
  gid: string | null;
  site: string;
  name: string;
  address: string;
  lat: number;
  lon: number;
  connectors: string;
  price_per_kwh: string;
  currency: string;
  root_key_sealed: Buffer;
  key_offset: number;
  control_seq: number;
  control_state: string | null;
  created_at: number;
}

export type GrantScope = 'pile' | 'site' | 'all';

export interface GrantSpec {
  scope: GrantScope;
  /** pid for scope pile, site name for scope site */
  target?: string;
  nbf?: number;
  exp?: number;
  maxWh?: number;
}

export function requireId(value: string, what: string): string {
  if (!isValidId(value)) {
    throw new RegistryError(
      'INVALID',
      `${what} ${JSON.stringify(value)} is not a valid id (^[A-Za-z0-9._-]{1,64}$)`,
    );
  }
  return value;
}

export class Registry {
  /** sha256(username, password, stored hash) of logins that verified: a reconnect skips the ~50 ms scrypt */
  private readonly verifiedLogins = new Set<string>();

  constructor(
    readonly db: Db,
    readonly dataDir: string,
    private readonly masterKey: Uint8Array,
  ) {}

  close(): void {
    this.db.close();
  }

  audit(actor: string, action: string, subject: string | null, detail?: unknown, nowMs = Date.now()): void {
    statement(this.db, 'INSERT INTO audit(ts, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)').run(
      Math.floor(nowMs / 1000),
      actor,
      action,
      subject,
      detail === undefined ? null : JSON.stringify(detail),
    );
  }

  get initialised(): boolean {
    return this.db.prepare("SELECT 1 FROM mqtt_users WHERE username = 'cloud'").get() !== undefined;
  }

  /** Creates the cloud's own MQTT login; its clear password goes to <data>/cloud.secret (0600) only. */
  init(nowMs = Date.now()): { created: boolean } {
    if (this.initialised) return { created: false };
    const password = generatePassword();
    const secretPath = join(this.dataDir, CLOUD_SECRET_FILE);
    if (existsSync(secretPath))
      throw new RegistryError('EXISTS', `${secretPath} exists but the registry has no cloud login`);
    this.db.transaction(() => {
      this.setMqttPassword(usernames.cloud, password, nowMs);
      this.audit('cli', 'init', null, undefined, nowMs);
    })();
    writePrivateFile(secretPath, `${password}\n`);
    return { created: true };
  }

  cloudPassword(): string {
    const path = join(this.dataDir, CLOUD_SECRET_FILE);
    if (!existsSync(path))
      throw new RegistryError('NOT_INITIALISED', `${path} is missing; run evauth-cloud init`);
    return readFileSync(path, 'utf8').trim();
  }

  setMqttPassword(username: string, password: string, nowMs = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO mqtt_users(username, scrypt_hash, mosquitto_hash, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(username) DO UPDATE SET scrypt_hash = excluded.scrypt_hash,
           mosquitto_hash = excluded.mosquitto_hash, created_at = excluded.created_at`,
      )
      .run(username, scryptHash(password), mosquittoHash(password), Math.floor(nowMs / 1000));
  }

  verifyMqttPassword(username: string, password: string): boolean {
    const row = this.db.prepare('SELECT scrypt_hash FROM mqtt_users WHERE username = ?').get(username) as
      | { scrypt_hash: string }
      | undefined;
    if (!row) return false;
    const key = createHash('sha256')
      .update(`${username}\u0000${password}\u0000${row.scrypt_hash}`)
      .digest('hex');
    if (this.verifiedLogins.has(key)) return true;
    if (!verifyScrypt(row.scrypt_hash, password)) return false;
    this.verifiedLogins.add(key);
    return true;
  }

  /** The MQTT login check (docs/architecture.md): the principal, with a gateway's piles resolved now. */
  authenticate(username: string, password: string): Principal | undefined {
    const parsed = parseUsername(username);
    if (!parsed || !this.verifyMqttPassword(username, password)) return undefined;
    if (parsed.kind === 'vehicle') {
      const row = this.db.prepare('SELECT revoked_at FROM vehicles WHERE vid = ?').get(parsed.vid) as
        | { revoked_at: number | null }
        | undefined;
      return row && row.revoked_at === null ? parsed : undefined;
    }
    if (parsed.kind === 'gateway') {
      if (!this.db.prepare('SELECT 1 FROM gateways WHERE gid = ?').get(parsed.gid)) return undefined;
      return { kind: 'gateway', gid: parsed.gid, piles: new Set(this.gatewayPiles(parsed.gid)) };
    }
    return parsed;
  }

  gatewayPiles(gid: string): string[] {
    const rows = this.db.prepare('SELECT pid FROM piles WHERE gid = ? ORDER BY pid').all(gid) as {
      pid: string;
    }[];
    return rows.map((r) => r.pid);
  }

  hasVehicle(vid: string): boolean {
    return this.db.prepare('SELECT 1 FROM vehicles WHERE vid = ?').get(vid) !== undefined;
  }

  requireVehicle(vid: string): void {
    requireId(vid, 'vehicle id');
    if (!this.hasVehicle(vid)) throw new RegistryError('NOT_FOUND', `unknown vehicle ${vid}`);
  }

  requirePile(pid: string): PileRow {
    requireId(pid, 'pile id');
    const row = this.db.prepare('SELECT * FROM piles WHERE pid = ?').get(pid) as PileRow | undefined;
    if (!row) throw new RegistryError('NOT_FOUND', `unknown pile ${pid}`);
    return row;
  }

  requireGateway(gid: string): void {
    requireId(gid, 'gateway id');
    if (!this.db.prepare('SELECT 1 FROM gateways WHERE gid = ?').get(gid)) {
      throw new RegistryError('NOT_FOUND', `unknown gateway ${gid}`);
    }
  }

  vehicleKey(vid: string): Uint8Array {
    const row = statement(this.db, 'SELECT vehicle_key_sealed FROM vehicles WHERE vid = ?').get(vid) as
      | { vehicle_key_sealed: Buffer }
      | undefined;
    if (!row) throw new RegistryError('NOT_FOUND', `unknown vehicle ${vid}`);
    return openSecret(this.masterKey, 'vehicle-key', vid, row.vehicle_key_sealed);
  }

  pileRootKey(pile: Pick<PileRow, 'pid' | 'root_key_sealed'>): Uint8Array {
    return openSecret(this.masterKey, 'pile-root-key', pile.pid, pile.root_key_sealed);
  }

  /** Registers a vehicle and writes its PROTOCOL §11 provisioning file (the only copy of its MQTT password). */
  addVehicle(vid: string, urls: { mqttUrl: string; wsUrl: string; name?: string }, nowMs = Date.now()) {
    requireId(vid, 'vehicle id');
    if (this.hasVehicle(vid)) throw new RegistryError('EXISTS', `vehicle ${vid} already exists`);
    const vehicleKey = randomBytes(32);
    const password = generatePassword();
    const provisioning: VehicleProvisioning = {
      v: 1,
      vid,
      vehicleKey: b64uEncode(vehicleKey),
      mqtt: { url: urls.mqttUrl, wsUrl: urls.wsUrl, username: usernames.vehicle(vid), password },
    };
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO vehicles(vid, name, vehicle_key_sealed, created_at) VALUES (?, ?, ?, ?)')
        .run(
          vid,
          urls.name ?? '',
          sealSecret(this.masterKey, 'vehicle-key', vid, vehicleKey),
          Math.floor(nowMs / 1000),
        );
      this.setMqttPassword(usernames.vehicle(vid), password, nowMs);
      this.audit('cli', 'vehicle.add', vid, undefined, nowMs);
    })();
    this.writeVehicleProvisioning(provisioning);
    return provisioning;
  }

  vehicleProvisioningPath(vid: string): string {
    return join(this.dataDir, 'provisioning', 'vehicles', `${vid}.json`);
  }

  writeVehicleProvisioning(provisioning: VehicleProvisioning): void {
    mkdirSync(join(this.dataDir, 'provisioning', 'vehicles'), { recursive: true, mode: 0o700 });
    writeFileSync(
      this.vehicleProvisioningPath(provisioning.vid),
      `${JSON.stringify(provisioning, null, 2)}\n`,
      {
        mode: 0o600,
      },
    );
  }

  addGateway(gid: string, options: { name?: string } = {}, nowMs = Date.now()): void {
    requireId(gid, 'gateway id');
    if (this.db.prepare('SELECT 1 FROM gateways WHERE gid = ?').get(gid)) {
      throw new RegistryError('EXISTS', `gateway ${gid} already exists`);
    }
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO gateways(gid, name, created_at) VALUES (?, ?, ?)')
        .run(gid, options.name ?? '', Math.floor(nowMs / 1000));
      this.audit('cli', 'gateway.add', gid, undefined, nowMs);
    })();
  }

  /** Registers a pile with a new root key (sealed under the master key) and returns its §11 keystore entry. */
  addPile(pid: string, spec: PileSpec, nowMs = Date.now()): PileKeystoreEntry {
    requireId(pid, 'pile id');
    if (spec.gid !== undefined) this.requireGateway(spec.gid);
    if (this.db.prepare('SELECT 1 FROM piles WHERE pid = ?').get(pid)) {
      throw new RegistryError('EXISTS', `pile ${pid} already exists`);
    }
    validatePileSpec(spec);
    const rootKey = randomBytes(32);
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO piles(pid, gid, site, name, address, lat, lon, connectors, price_per_kwh, currency,
             root_key_sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          pid,
          spec.gid ?? null,
          spec.site,
          spec.name,
          spec.address,
          spec.lat,
          spec.lon,
          JSON.stringify(spec.connectors),
          spec.pricePerKWh,
          spec.currency,
          sealSecret(this.masterKey, 'pile-root-key', pid, rootKey),
          Math.floor(nowMs / 1000),
        );
      this.audit('cli', 'pile.add', pid, { gid: spec.gid ?? null, site: spec.site }, nowMs);
    })();
    const entry: PileKeystoreEntry = { v: 1, pid, rootKey: b64uEncode(rootKey), keyOffset: 0 };
    mkdirSync(join(this.dataDir, 'provisioning', 'piles'), { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dataDir, 'provisioning', 'piles', `${pid}.json`), `${JSON.stringify(entry)}\n`, {
      mode: 0o600,
    });
    return entry;
  }

  keystoreEntry(pid: string): PileKeystoreEntry {
    const pile = this.requirePile(pid);
    return { v: 1, pid, rootKey: b64uEncode(this.pileRootKey(pile)), keyOffset: pile.key_offset };
  }

  grant(vid: string, spec: GrantSpec, nowMs = Date.now()): number {
    this.requireVehicle(vid);
    let target: string | null = null;
    if (spec.scope === 'pile') target = this.requirePile(spec.target ?? '').pid;
    else if (spec.scope === 'site') {
      target = spec.target ?? '';
      if (!this.db.prepare('SELECT 1 FROM piles WHERE site = ?').get(target)) {
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
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          'INSERT INTO grants(vid, scope, target, nbf, exp, max_wh, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(vid, spec.scope, target, nbf, spec.exp ?? null, spec.maxWh ?? null, now);
      const id = Number(info.lastInsertRowid);
      this.audit('cli', 'grant', vid, { id, scope: spec.scope, target, nbf, exp: spec.exp ?? null }, nowMs);
      return id;
    })();
  }

  revokeTicket(tid: string, nowMs = Date.now()): void {
    const row = this.db.prepare('SELECT revoked_at FROM tickets WHERE tid = ?').get(tid) as
      | { revoked_at: number | null }
      | undefined;
    if (!row) throw new RegistryError('NOT_FOUND', `unknown ticket ${tid}`);
    if (row.revoked_at !== null) throw new RegistryError('EXISTS', `ticket ${tid} is already revoked`);
    const now = Math.floor(nowMs / 1000);
    this.db.transaction(() => {
      this.db.prepare('UPDATE tickets SET revoked_at = ? WHERE tid = ?').run(now, tid);
      this.db.prepare("INSERT INTO revocations(kind, target, ts) VALUES ('ticket', ?, ?)").run(tid, now);
      this.audit('cli', 'revoke.ticket', tid, undefined, nowMs);
    })();
  }

  /** Ends a vehicle: its MQTT login, its grants and every ticket it holds. */
  revokeVehicle(vid: string, nowMs = Date.now()): void {
    this.requireVehicle(vid);
    const now = Math.floor(nowMs / 1000);
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE vehicles SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL')
        .run(now, vid);
      this.db.prepare('UPDATE grants SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL').run(now, vid);
      this.db.prepare('UPDATE tickets SET revoked_at = ? WHERE vid = ? AND revoked_at IS NULL').run(now, vid);
      this.db.prepare('DELETE FROM mqtt_users WHERE username = ?').run(usernames.vehicle(vid));
      this.db.prepare("INSERT INTO revocations(kind, target, ts) VALUES ('vehicle', ?, ?)").run(vid, now);
      this.audit('cli', 'revoke.vehicle', vid, undefined, nowMs);
    })();
  }

  /** Ends a grant; the service then revokes the tickets that no other grant covers. */
  revokeGrant(id: number, nowMs = Date.now()): void {
    const row = this.db.prepare('SELECT revoked_at FROM grants WHERE id = ?').get(id) as
      | { revoked_at: number | null }
      | undefined;
    if (!row) throw new RegistryError('NOT_FOUND', `unknown grant ${id}`);
    if (row.revoked_at !== null) throw new RegistryError('EXISTS', `grant ${id} is already revoked`);
    const now = Math.floor(nowMs / 1000);
    this.db.transaction(() => {
      this.db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ?').run(now, id);
      this.db
        .prepare("INSERT INTO revocations(kind, target, ts) VALUES ('grant', ?, ?)")
        .run(String(id), now);
      this.audit('cli', 'revoke.grant', String(id), undefined, nowMs);
    })();
  }

  /** Raises the pile's root key offset; the service keeps the old one accepted while its tickets live. */
  rotate(pid: string, nowMs = Date.now()): { previous: number; current: number } {
    const pile = this.requirePile(pid);
    if (pile.key_offset >= 0xffffffff) throw new RegistryError('INVALID', `pile ${pid} has no offset left`);
    const current = pile.key_offset + 1;
    this.db.transaction(() => {
      this.db.prepare('UPDATE piles SET key_offset = ? WHERE pid = ?').run(current, pid);
      this.audit('cli', 'rotate', pid, { previous: pile.key_offset, current }, nowMs);
    })();
    return { previous: pile.key_offset, current };
  }
}

const ConnectorsSchema = v.pipe(
  v.array(
    v.object({
      id: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(255)),
      maxW: v.pipe(v.number(), v.integer(), v.minValue(1)),
      kind: v.optional(v.string()),
    }),
  ),
  v.minLength(1),
  v.maxLength(64),
);

function validatePileSpec(spec: PileSpec): void {
  const problems: string[] = [];
  if (!v.is(ConnectorsSchema, spec.connectors))
    problems.push('connectors must be 1-64 of {id 1-255, maxW > 0}');
  else if (new Set(spec.connectors.map((c) => c.id)).size !== spec.connectors.length)
    problems.push('connector ids repeat');
  if (!/^\d{1,12}(\.\d{1,6})?$/.test(spec.pricePerKWh))
    problems.push(`price ${JSON.stringify(spec.pricePerKWh)} is not a decimal`);
  if (!/^[A-Z]{3}$/.test(spec.currency))
    problems.push(`currency ${JSON.stringify(spec.currency)} is not ISO 4217`);
  if (!(Number.isFinite(spec.lat) && Math.abs(spec.lat) <= 90)) problems.push('lat must be within -90..90');
  if (!(Number.isFinite(spec.lon) && Math.abs(spec.lon) <= 180))
    problems.push('lon must be within -180..180');
  if (!spec.site || spec.site.length > 200) problems.push('site must be 1-200 characters');
  if (spec.name.length > 200 || spec.address.length > 400) problems.push('name or address too long');
  if (problems.length) throw new RegistryError('INVALID', problems.join('; '));
}

/** Opens (creating or migrating) <dataDir>/cloud.db and the master key. */
export function openRegistry(dataDir: string): Registry {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(dataDir, DB_FILE));
  return new Registry(db, dataDir, loadOrCreateMasterKey(dataDir));
}
