/**
 * The cloud's storage, behind one interface: every read and write of cloud code goes through a `CloudStore`
 * (docs/architecture.md, "Cloud storage"). Work is done in units: `transaction` for anything that writes (all
 * of it commits or none of it), `read` for reads. The interface is asynchronous so that a networked store
 * (PostgreSQL, several cloud instances sharing the work) is another implementation, not a change of callers.
 */
import type {
  AuditEntry,
  AuditRow,
  GatewayRow,
  GrantRow,
  IssuedTicket,
  LoginRow,
  PileRow,
  RetainedRow,
  RevocationKind,
  TicketRow,
  VehicleRow,
} from './records.js';

export interface CloudStore {
  /**
   * Runs `work` as one unit of work and commits it when it resolves (rolls it back when it throws). No other unit
   * sees its writes before it commits, and the rows it locks (`lockPile`) stay its own until then (SQLite runs
   * units one at a time; PostgreSQL runs them side by side and only `lockPile` makes one wait for another). `tx` is valid only until `work` settles.
   */
  transaction<T>(work: (tx: CloudTx) => Promise<T>): Promise<T>;
  /** Runs `work` with reads only; it sees committed data only. */
  read<T>(work: (tx: CloudReads) => Promise<T>): Promise<T>;
  /**
   * A number that changes whenever another connection (the admin CLI) has committed a change to the registry, so
   * the service knows when to look again. Its own commits may or may not change it; PostgreSQL counts admin
   * changes only, not the issuing of another instance (postgres-schema.ts).
   */
  externalVersion(): Promise<number>;
  close(): Promise<void>;
}

export interface LockPileOptions {
  skipLocked?: boolean;
}

/** The reads of a unit of work. Lists come in a stable order (by id unless said otherwise). */
export interface CloudReads {
  login(username: string): Promise<LoginRow | undefined>;
  logins(): Promise<LoginRow[]>;

  vehicle(vid: string): Promise<VehicleRow | undefined>;
  vehicles(): Promise<VehicleRow[]>;
  vehicleIds(): Promise<string[]>;

  gateway(gid: string): Promise<GatewayRow | undefined>;
  gateways(): Promise<GatewayRow[]>;

  pile(pid: string): Promise<PileRow | undefined>;
  piles(): Promise<PileRow[]>;
  pileIds(): Promise<string[]>;
  pilesOfGateway(gid: string): Promise<PileRow[]>;
  /** Piles with no signing key yet (a registry from before PROTOCOL §8a). */
  pileIdsWithoutSignKey(): Promise<string[]>;
  siteHasPile(site: string): Promise<boolean>;

  grant(id: number): Promise<GrantRow | undefined>;
  grants(): Promise<GrantRow[]>;
  grantsOfVehicle(vid: string): Promise<GrantRow[]>;
  /** Grants of `vid` in force at `now` (none when the vehicle is revoked), newest first. */
  activeGrants(vid: string, now: number): Promise<GrantRow[]>;

  ticket(tid: string): Promise<TicketRow | undefined>;
  /** The ticket issued last for the pair, revoked or not. */
  latestTicket(vid: string, pid: string): Promise<TicketRow | undefined>;
  /** Newest first. */
  recentTickets(limit: number): Promise<TicketRow[]>;
  /** The key offsets of the pile's tickets with `exp >= expAtLeast`, ascending. */
  offsetsInUse(pid: string, expAtLeast: number): Promise<number[]>;
  /**
   * The pile's revoked tickets with `exp >= expAtLeast`, the latest revoked first, at most `limit`; a revoked
   * vehicle's tickets are left out (`revokedVehiclesOfPile` covers them with one entry).
   */
  revokedTicketsOfPile(
    pid: string,
    expAtLeast: number,
    limit: number,
  ): Promise<Pick<TicketRow, 'tid' | 'exp'>[]>;
  /**
   * The revoked vehicles with a ticket for the pile with `exp >= expAtLeast`, each with its last such ticket's
   * `exp`, by vid, at most `limit`.
   */
  revokedVehiclesOfPile(
    pid: string,
    expAtLeast: number,
    limit: number,
  ): Promise<{ vid: string; exp: number }[]>;

  retainedPayload(topic: string): Promise<string | undefined>;
  /** Retained rows changed after `rev`, in the order they changed. */
  retainedSince(rev: number): Promise<RetainedRow[]>;

  /** Newest first. */
  recentAudit(limit: number): Promise<AuditRow[]>;
}

/** The reads and writes of a unit of work that may write. */
export interface CloudTx extends CloudReads {
  /** Sets (or replaces) a login's password hashes. */
  putLogin(login: LoginRow): Promise<void>;
  deleteLogin(username: string): Promise<void>;

  insertVehicle(vehicle: Omit<VehicleRow, 'revoked_at'>): Promise<void>;
  setVehicleRevoked(vid: string, at: number): Promise<void>;

  insertGateway(gateway: GatewayRow): Promise<void>;

  insertPile(
    pile: Omit<
      PileRow,
      'key_offset' | 'control_seq' | 'control_state' | 'ocpp_station' | 'ocpp_password_sealed'
    >,
  ): Promise<void>;
  /** Makes the pile's charger an OCPP station (its id and sealed password), or the simulator again (null). */
  setPileCharger(pid: string, ocpp: { station: string; passwordSealed: Uint8Array } | null): Promise<void>;
  /**
   * The pile's row, locked until the unit of work ends: whoever signs the pile's next control body or issues
   * tickets for it holds this lock, so two cloud instances never sign the same seq. (SQLite: a unit of work
   * already holds the database's write lock.) With `skipLocked`, a pile another unit holds now is not waited
   * for: undefined, as if absent (a pass leaves it to the instance working on it).
   */
  lockPile(pid: string, options?: LockPileOptions): Promise<PileRow | undefined>;
  setKeyOffset(pid: string, keyOffset: number): Promise<void>;
  setControl(pid: string, seq: number, state: string): Promise<void>;
  /** Sets the pile's signing key: its public key and, where the cloud keeps it, the sealed private scalar. */
  setSignKey(pid: string, signKey: string, signingKeySealed: Uint8Array | null): Promise<void>;

  /** Returns the new grant's id. */
  insertGrant(grant: Omit<GrantRow, 'id' | 'revoked_at'>): Promise<number>;
  setGrantRevoked(id: number, at: number): Promise<void>;
  /** Revokes every grant of the vehicle not revoked yet. */
  revokeGrantsOfVehicle(vid: string, at: number): Promise<void>;

  insertTicket(ticket: IssuedTicket): Promise<void>;
  setTicketRevoked(tid: string, at: number): Promise<void>;
  /** Revokes every ticket of the vehicle not revoked yet. */
  revokeTicketsOfVehicle(vid: string, at: number): Promise<void>;
  /** Revokes the pair's tickets not revoked yet with `exp >= expAtLeast`; returns how many. */
  revokeLiveTicketsOfPair(vid: string, pid: string, at: number, expAtLeast: number): Promise<number>;
  recordRevocation(kind: RevocationKind, target: string, at: number): Promise<void>;

  /** Stores the retained payload of a topic (a new rev) unless it is already the stored one; true if stored. */
  setRetained(topic: string, payload: string, at: number): Promise<boolean>;
  /** Stores the retained payload of a topic without comparing (a payload known to be new). */
  putRetained(topic: string, payload: string, at: number): Promise<void>;

  /** Remembers a credential.request nonce of the vehicle; false when it was already remembered (a replay). */
  rememberNonce(vid: string, nonce: string, at: number): Promise<boolean>;
  forgetNoncesBefore(ts: number): Promise<void>;

  audit(entry: AuditEntry): Promise<void>;
}
