/** The cloud registry: vehicles, piles, gateways, grants and MQTT logins in cloud.db, with an audit row per change. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import {
  b64uEncode,
  brokerNodes,
  type PileKeystoreEntry,
  usernames,
  type VehicleProvisioning,
} from '../shared/index.js';
import { type Db, openDatabase, statement } from './db.js';
import { addGrant, revokeGrant, revokeTicket, revokeVehicle } from './grants.js';
import { MqttLogins } from './logins.js';
import {
  type GrantSpec,
  type PileRow,
  type PileSpec,
  RegistryError,
  requireId,
  validatePileSpec,
} from './registry-records.js';
import { loadOrCreateMasterKey, openSecret, sealSecret, writePrivateFile } from './secrets.js';

export {
  type ConnectorSpec,
  type GrantScope,
  type GrantSpec,
  type PileRow,
  type PileSpec,
  RegistryError,
  type RegistryErrorCode,
  requireId,
} from './registry-records.js';

export const CLOUD_SECRET_FILE = 'cloud.secret';
export const DB_FILE = 'cloud.db';

export class Registry {
  /** MQTT logins (password hashes) */
  private readonly logins: MqttLogins;

  constructor(
    readonly db: Db,
    readonly dataDir: string,
    private readonly masterKey: Uint8Array,
  ) {
    this.logins = new MqttLogins(db);
  }

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
    this.logins.setPassword(username, password, nowMs);
  }

  verifyMqttPassword(username: string, password: string): boolean {
    return this.logins.verifyPassword(username, password);
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
  addVehicle(
    vid: string,
    urls: { mqttUrl: string | readonly string[]; wsUrl: string | readonly string[]; name?: string },
    nowMs = Date.now(),
  ) {
    requireId(vid, 'vehicle id');
    if (this.hasVehicle(vid)) throw new RegistryError('EXISTS', `vehicle ${vid} already exists`);
    const vehicleKey = randomBytes(32);
    const password = generatePassword();
    // every broker node of a cluster, in order (PROTOCOL §11 revision 2)
    const [tcp, ws] = [brokerNodes(urls.mqttUrl), brokerNodes(urls.wsUrl)];
    const provisioning: VehicleProvisioning = {
      v: 1,
      vid,
      vehicleKey: b64uEncode(vehicleKey),
      mqtt: {
        url: tcp.first,
        wsUrl: ws.first,
        ...(tcp.all ? { urls: tcp.all } : {}),
        ...(ws.all ? { wsUrls: ws.all } : {}),
        username: usernames.vehicle(vid),
        password,
      },
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
    return addGrant(this, vid, spec, nowMs);
  }

  revokeTicket(tid: string, nowMs = Date.now()): void {
    revokeTicket(this, tid, nowMs);
  }

  /** Ends a vehicle: its MQTT login, its grants and every ticket it holds. */
  revokeVehicle(vid: string, nowMs = Date.now()): void {
    revokeVehicle(this, vid, nowMs);
  }

  /** Ends a grant; the service then revokes the tickets that no other grant covers. */
  revokeGrant(id: number, nowMs = Date.now()): void {
    revokeGrant(this, id, nowMs);
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

/** Opens (creating or migrating) <dataDir>/cloud.db and the master key. */
export function openRegistry(dataDir: string): Registry {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = openDatabase(join(dataDir, DB_FILE));
  return new Registry(db, dataDir, loadOrCreateMasterKey(dataDir));
}
