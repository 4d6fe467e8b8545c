/**
 * The broker's logins, read over its own read-only connection to the registry's login view (the `broker_logins`
 * and `broker_gateway_piles` views of cloud.db or of the PostgreSQL registry, docs/architecture.md): usernames, scrypt hashes, and a gateway's
 * piles. The broker never opens the master key, so a broker compromise yields no root or vehicle key. Password
 * checks run in the thread pool (node/password-hash.ts); a login that verified is remembered (bounded) so a
 * reconnecting client does not pay scrypt again. `changed()` tells when the registry has moved on, so the broker
 * can re-check who is connected (a revoked vehicle is cut off at once).
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { verifyScryptHash } from '../node/password-hash.js';
import { type Principal, parseUsername } from '../shared/index.js';

/** Logins remembered after a successful check; the oldest leaves first */
const VERIFIED_CAPACITY = 10_000;

/**
 * The login checks over the two relations of the registry's login view, wherever they are read from: cloud.db
 * (LoginView) or PostgreSQL (PostgresLoginView, broker/pg-login-view.ts).
 */
export abstract class RegistryLogins {
  /** sha256(username, password, stored hash) of logins that verified: a changed hash misses by construction */
  private readonly verified = new Set<string>();

  /** `broker_logins.password_hash` of the username, if it may log in. */
  protected abstract passwordHash(username: string): string | undefined;
  /** `broker_gateway_piles.pid` of the gateway, in order. */
  protected abstract gatewayPiles(gid: string): string[];
  /** Whether the registry has moved on since the last call. */
  abstract changed(): boolean;
  abstract close(): void | Promise<void>;

  /** The principal this username is now, with a gateway's piles as the registry lists them; undefined if refused. */
  principalOf(username: string): Principal | undefined {
    const parsed = parseUsername(username);
    if (!parsed || this.passwordHash(username) === undefined) return undefined;
    if (parsed.kind !== 'gateway') return parsed;
    return { kind: 'gateway', gid: parsed.gid, piles: new Set(this.gatewayPiles(parsed.gid)) };
  }

  /** The key a verified login is remembered by: a changed password hash misses by construction. */
  private verifiedKey(username: string, password: string): { key: string; hash: string } | undefined {
    const hash = this.passwordHash(username);
    if (hash === undefined || !parseUsername(username)) return undefined;
    const key = createHash('sha256').update(`${username}\u0000${password}\u0000${hash}`).digest('hex');
    return { key, hash };
  }

  /**
   * The principal of a login that verified before with this very password (and hash), at the cost of a lookup
   * and a SHA-256: a reconnecting client is never made to wait behind password checks.
   */
  knownLogin(username: string, password: string): Principal | undefined {
    const known = this.verifiedKey(username, password);
    return known && this.verified.has(known.key) ? this.principalOf(username) : undefined;
  }

  /** The login check: the principal when the password is the login's current one. */
  async authenticate(username: string, password: string): Promise<Principal | undefined> {
    const known = this.verifiedKey(username, password);
    if (!known) return undefined;
    if (!this.verified.has(known.key)) {
      if (!(await verifyScryptHash(known.hash, password))) return undefined;
      if (this.verified.size >= VERIFIED_CAPACITY) this.verified.delete(this.verified.values().next().value!);
      this.verified.add(known.key);
    }
    // read again after the wait: a revocation may have landed while scrypt ran
    return this.principalOf(username);
  }
}

/** The login view of cloud.db, over a read-only connection of the broker's own. */
export class LoginView extends RegistryLogins {
  private readonly db: Database.Database;
  private readonly hashOf: Database.Statement;
  private readonly pilesOf: Database.Statement;
  private dataVersion: number;

  constructor(dbPath: string) {
    super();
    this.db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: 1000 });
    this.hashOf = this.db.prepare('SELECT password_hash FROM broker_logins WHERE username = ?');
    this.pilesOf = this.db.prepare('SELECT pid FROM broker_gateway_piles WHERE gid = ? ORDER BY pid');
    this.dataVersion = this.readDataVersion();
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  protected passwordHash(username: string): string | undefined {
    return (this.hashOf.get(username) as { password_hash: string } | undefined)?.password_hash;
  }

  protected gatewayPiles(gid: string): string[] {
    return (this.pilesOf.all(gid) as { pid: string }[]).map((r) => r.pid);
  }

  /** Whether another connection (the cloud) committed a change since the last call. */
  changed(): boolean {
    const version = this.readDataVersion();
    if (version === this.dataVersion) return false;
    this.dataVersion = version;
    return true;
  }

  close(): void {
    this.db.close();
  }
}
