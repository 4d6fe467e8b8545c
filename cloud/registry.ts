/**
 * The cloud registry: vehicles, piles, gateways, grants and MQTT logins, with an audit row per change. Every
 * method is one unit of work on the cloud's store; the clear keys it hands out (provisioning files, keystore
 * entries) are sealed under the master key in the store.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../node/password-hash.js';
import {
  b64uEncode,
  brokerNodes,
  type PileKeystoreEntry,
  unixSeconds,
  usernames,
  type VehicleProvisioning,
} from '../shared/index.js';
import { type AuditActor, audit } from './audit.js';
import {
  addGrant,
  requirePile,
  revokeGrant,
  revokeGrantsCovering,
  revokeTicket,
  revokeVehicle,
} from './grants.js';
import { loginRow, passwordMatches } from './logins.js';
import { assignCharger, type OcppChargerEntry, requireStationId, setPileCharger } from './ocpp-stations.js';
import { signControlsNow } from './pile-topics.js';
import {
  type GrantSpec,
  type PileRow,
  type PileSpec,
  RegistryError,
  requireId,
  validatePileSpec,
} from './registry-records.js';
import { MasterKey, writePrivateFile } from './secrets.js';
import {
  giveMissingSigningKeys,
  newPileSigningKey,
  operatorSignKey,
  type PileSigningKey,
  rotatePileSignKey,
  signingKeyColumns,
} from './signing-keys.js';
import type { CloudStore } from './store/cloud-store.js';
import { SqliteCloudStore } from './store/sqlite-store.js';

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

/** What the issuer needs of a registry: its store and the master key that opens the keys sealed in it. */
export interface CloudData {
  readonly store: CloudStore;
  readonly masterKey: MasterKey;
}

export class Registry implements CloudData {
  constructor(
    readonly store: CloudStore,
    readonly dataDir: string,
    readonly masterKey: MasterKey,
  ) {}

  close(): Promise<void> {
    return this.store.close();
  }

  audit(actor: AuditActor, action: string, subject: string | null, detail?: unknown, nowMs = Date.now()) {
    return this.store.transaction((tx) => audit(tx, actor, action, subject, unixSeconds(nowMs), detail));
  }

  /** Whether `init` has made the cloud's own login. */
  async isInitialised(): Promise<boolean> {
    return (await this.store.read((tx) => tx.login(usernames.cloud))) !== undefined;
  }

  /** Creates the cloud's own MQTT login; its clear password goes to <data>/cloud.secret (0600) only. */
  async init(nowMs = Date.now()): Promise<{ created: boolean }> {
    if (await this.isInitialised()) return { created: false };
    const password = generatePassword();
    const secretPath = join(this.dataDir, CLOUD_SECRET_FILE);
    if (existsSync(secretPath))
      throw new RegistryError('EXISTS', `${secretPath} exists but the registry has no cloud login`);
    const login = loginRow(usernames.cloud, password, nowMs);
    await this.store.transaction(async (tx) => {
      await tx.putLogin(login);
      await audit(tx, 'cli', 'init', null, unixSeconds(nowMs));
    });
    writePrivateFile(secretPath, `${password}\n`);
    return { created: true };
  }

  cloudPassword(): string {
    const path = join(this.dataDir, CLOUD_SECRET_FILE);
    if (!existsSync(path))
      throw new RegistryError('NOT_INITIALISED', `${path} is missing; run evauth-cloud init`);
    return readFileSync(path, 'utf8').trim();
  }

  async setMqttPassword(username: string, password: string, nowMs = Date.now()): Promise<void> {
    const login = loginRow(username, password, nowMs);
    await this.store.transaction((tx) => tx.putLogin(login));
  }

  async verifyMqttPassword(username: string, password: string): Promise<boolean> {
    return passwordMatches(await this.store.read((tx) => tx.login(username)), password);
  }

  async hasVehicle(vid: string): Promise<boolean> {
    return (await this.store.read((tx) => tx.vehicle(vid))) !== undefined;
  }

  async hasGateway(gid: string): Promise<boolean> {
    return (await this.store.read((tx) => tx.gateway(gid))) !== undefined;
  }

  async hasPile(pid: string): Promise<boolean> {
    return (await this.store.read((tx) => tx.pile(pid))) !== undefined;
  }

  requirePile(pid: string): Promise<PileRow> {
    return this.store.read((tx) => requirePile(tx, pid));
  }

  async requireGateway(gid: string): Promise<void> {
    requireId(gid, 'gateway id');
    if (!(await this.hasGateway(gid))) throw new RegistryError('NOT_FOUND', `unknown gateway ${gid}`);
  }

  /** Registers a vehicle and writes its PROTOCOL §11 provisioning file (the only copy of its MQTT password). */
  async addVehicle(
    vid: string,
    urls: { mqttUrl: string | readonly string[]; wsUrl: string | readonly string[]; name?: string },
    nowMs = Date.now(),
  ): Promise<VehicleProvisioning> {
    requireId(vid, 'vehicle id');
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
    const login = loginRow(usernames.vehicle(vid), password, nowMs);
    await this.store.transaction(async (tx) => {
      if (await tx.vehicle(vid)) throw new RegistryError('EXISTS', `vehicle ${vid} already exists`);
      await tx.insertVehicle({
        vid,
        name: urls.name ?? '',
        vehicle_key_sealed: this.masterKey.sealVehicleKey(vid, vehicleKey),
        created_at: unixSeconds(nowMs),
      });
      await tx.putLogin(login);
      await audit(tx, 'cli', 'vehicle.add', vid, unixSeconds(nowMs));
    });
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
      { mode: 0o600 },
    );
  }

  async addGateway(gid: string, options: { name?: string } = {}, nowMs = Date.now()): Promise<void> {
    requireId(gid, 'gateway id');
    await this.store.transaction(async (tx) => {
      if (await tx.gateway(gid)) throw new RegistryError('EXISTS', `gateway ${gid} already exists`);
      await tx.insertGateway({ gid, name: options.name ?? '', created_at: unixSeconds(nowMs) });
      await audit(tx, 'cli', 'gateway.add', gid, unixSeconds(nowMs));
    });
  }

  /** Registers a pile with a new root key (sealed under the master key) and returns its §11 keystore entry. */
  async addPile(pid: string, spec: PileSpec, nowMs = Date.now()): Promise<PileKeystoreEntry> {
    const [entry] = await this.addPiles([{ pid, spec }], nowMs);
    return entry!;
  }

  /** Registers several piles in one unit of work (all or none), e.g. a new site. */
  async addPiles(piles: { pid: string; spec: PileSpec }[], nowMs = Date.now()): Promise<PileKeystoreEntry[]> {
    for (const { pid, spec } of piles) {
      requireId(pid, 'pile id');
      if (spec.gid !== undefined) requireId(spec.gid, 'gateway id');
      if (spec.ocppStation !== undefined) requireStationId(spec.ocppStation);
      validatePileSpec(spec);
    }
    const rootKeys = piles.map(() => randomBytes(32));
    const signingKeys: PileSigningKey[] = piles.map(({ spec }) =>
      spec.signKey !== undefined
        ? { signKey: operatorSignKey(spec.signKey, 'signKey') }
        : newPileSigningKey(),
    );
    await this.store.transaction(async (tx) => {
      for (const [i, { pid, spec }] of piles.entries()) {
        if (spec.gid !== undefined && !(await tx.gateway(spec.gid)))
          throw new RegistryError('NOT_FOUND', `unknown gateway ${spec.gid}`);
        if (await tx.pile(pid)) throw new RegistryError('EXISTS', `pile ${pid} already exists`);
        await tx.insertPile({
          pid,
          gid: spec.gid ?? null,
          site: spec.site,
          name: spec.name,
          address: spec.address,
          lat: spec.lat,
          lon: spec.lon,
          connectors: JSON.stringify(spec.connectors),
          price_per_kwh: spec.pricePerKWh,
          currency: spec.currency,
          root_key_sealed: this.masterKey.sealPileRootKey(pid, rootKeys[i]!),
          created_at: unixSeconds(nowMs),
          ...signingKeyColumns(this.masterKey, pid, signingKeys[i]!),
        });
        await audit(tx, 'cli', 'pile.add', pid, unixSeconds(nowMs), {
          gid: spec.gid ?? null,
          site: spec.site,
          signKey: signingKeys[i]!.signKey,
        });
        if (spec.ocppStation !== undefined)
          await assignCharger(tx, this.masterKey, pid, spec.ocppStation, { nowMs });
      }
    });
    mkdirSync(join(this.dataDir, 'provisioning', 'piles'), { recursive: true, mode: 0o700 });
    return piles.map(({ pid }, i) => {
      const scalar = signingKeys[i]!.scalar;
      const entry: PileKeystoreEntry = {
        v: 1,
        pid,
        rootKey: b64uEncode(rootKeys[i]!),
        keyOffset: 0,
        ...(scalar ? { signingKey: b64uEncode(scalar) } : {}),
      };
      const file = join(this.dataDir, 'provisioning', 'piles', `${pid}.json`);
      writeFileSync(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      return entry;
    });
  }

  /** Makes the pile's charger an OCPP station (null: the simulator); returns its config entry with the password. */
  setPileCharger(
    pid: string,
    stationId: string | null,
    options: { newPassword?: boolean } = {},
  ): Promise<OcppChargerEntry | undefined> {
    return setPileCharger(this.store, this.masterKey, pid, stationId, options);
  }

  /**
   * The pile's §11 keystore entry: its clear root key, current offset and signing key (left out where the
   * operator made the signing key on the pile: the cloud never had it).
   */
  keystoreEntryOf(pile: PileRow): PileKeystoreEntry {
    const rootKey = this.masterKey.openPileRootKey(pile.pid, pile.root_key_sealed);
    const signingKey = pile.signing_key_sealed
      ? this.masterKey.openPileSigningKey(pile.pid, pile.signing_key_sealed)
      : undefined;
    return {
      v: 1,
      pid: pile.pid,
      rootKey: b64uEncode(rootKey),
      keyOffset: pile.key_offset,
      ...(signingKey ? { signingKey: b64uEncode(signingKey) } : {}),
    };
  }

  async keystoreEntry(pid: string): Promise<PileKeystoreEntry> {
    return this.keystoreEntryOf(await this.requirePile(pid));
  }

  grant(vid: string, spec: GrantSpec, nowMs = Date.now()): Promise<number> {
    return this.store.transaction((tx) => addGrant(tx, vid, spec, nowMs));
  }

  /** Revokes a ticket and signs its pile's control body with it (TOO_LARGE, and nothing done, if it cannot fit). */
  revokeTicket(tid: string, nowMs = Date.now()): Promise<void> {
    return this.store.transaction(async (tx) => {
      const pid = await revokeTicket(tx, tid, nowMs);
      await signControlsNow(tx, this.masterKey, [pid], unixSeconds(nowMs));
    });
  }

  /**
   * Ends a vehicle: its MQTT login, its grants and every ticket it holds, and names it in the control body of
   * every pile where it holds a ticket (TOO_LARGE, and nothing done, if one cannot fit).
   */
  revokeVehicle(vid: string, nowMs = Date.now()): Promise<void> {
    return this.store.transaction(async (tx) => {
      const piles = await revokeVehicle(tx, vid, nowMs);
      await signControlsNow(tx, this.masterKey, piles, unixSeconds(nowMs));
    });
  }

  /** Ends a grant; the service then revokes the tickets that no other grant covers. */
  revokeGrant(id: number, nowMs = Date.now()): Promise<void> {
    return this.store.transaction((tx) => revokeGrant(tx, id, nowMs));
  }

  /** Ends every grant of the vehicle that covers the pile; returns how many. */
  revokeGrantsCovering(vid: string, pid: string, nowMs = Date.now()): Promise<number> {
    return this.store.transaction((tx) => revokeGrantsCovering(tx, vid, pid, nowMs));
  }

  /**
   * Gives the pile a new signing key (made by the cloud, or the operator's public key `signKey`). Every vehicle
   * gets a new credential with it in the service's next pass; the gateway signs with the new key only once its
   * keystore is exported again.
   */
  rotateSignKey(
    pid: string,
    options: { signKey?: string } = {},
    nowMs = Date.now(),
  ): Promise<{ previous: string | null; current: string; made: boolean }> {
    const key: PileSigningKey =
      options.signKey !== undefined
        ? { signKey: operatorSignKey(options.signKey, 'signKey') }
        : newPileSigningKey();
    return this.store.transaction(async (tx) =>
      rotatePileSignKey(tx, this.masterKey, await requirePile(tx, pid), key, nowMs),
    );
  }

  /** Gives every pile registered before PROTOCOL §8a a signing key (openRegistry does it); returns their ids. */
  giveMissingSigningKeys(nowMs = Date.now()): Promise<string[]> {
    return this.store.transaction((tx) => giveMissingSigningKeys(tx, this.masterKey, nowMs));
  }

  /** Raises the pile's root key offset; the service keeps the old one accepted while its tickets live. */
  rotate(pid: string, nowMs = Date.now()): Promise<{ previous: number; current: number }> {
    return this.store.transaction(async (tx) => {
      const pile = await requirePile(tx, pid);
      if (pile.key_offset >= 0xffffffff) throw new RegistryError('INVALID', `pile ${pid} has no offset left`);
      const current = pile.key_offset + 1;
      await tx.setKeyOffset(pid, current);
      await audit(tx, 'cli', 'rotate', pid, unixSeconds(nowMs), { previous: pile.key_offset, current });
      return { previous: pile.key_offset, current };
    });
  }
}

export interface RegistryLocation {
  /**
   * postgres://… to keep the registry in PostgreSQL instead of <dataDir>/cloud.db (EVAUTH_DATABASE_URL, read by
   * the entry points); the data folder still holds the master key, cloud.secret and the provisioning files.
   */
  databaseUrl?: string | undefined;
}

/** Opens (creating or migrating) the registry's store, <dataDir>/cloud.db or PostgreSQL, and the master key. */
export async function openRegistry(dataDir: string, location: RegistryLocation = {}): Promise<Registry> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const masterKey = MasterKey.loadOrCreate(dataDir);
  const store = location.databaseUrl
    ? await openPostgresStore(location.databaseUrl)
    : SqliteCloudStore.open(join(dataDir, DB_FILE));
  const registry = new Registry(store, dataDir, masterKey);
  // A registry from before PROTOCOL §8a: its piles get signing keys (their vehicles new credentials in the next pass).
  if ((await registry.store.read((tx) => tx.pileIdsWithoutSignKey())).length > 0)
    await registry.giveMissingSigningKeys();
  return registry;
}

async function openPostgresStore(url: string): Promise<CloudStore> {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new RegistryError('INVALID', 'the database URL must start with postgres://');
  // loaded only when asked for: `pg` costs every SQLite process ~0.5 s of start-up on a busy machine
  const { PostgresCloudStore } = await import('./store/postgres-store.js');
  return PostgresCloudStore.open(url);
}
