/**
 * The registry's login view when the registry is in PostgreSQL (`--database-url`, EVAUTH_DATABASE_URL): the same
 * two relations, `broker_logins` and `broker_gateway_piles`, read by a role that may read them and nothing else
 * (a member of `evauth_broker`, docs/deploy.md). The broker checks logins synchronously inside aedes' hooks, so
 * it keeps both relations in memory (~150 bytes a login) and reads them again whenever the registry announces a
 * change (LISTEN evauth_registry); a revoked vehicle is cut off once the new copy is in. While the database is
 * unreachable the last copy serves, and the view reconnects every second.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { RegistryLogins } from './login-view.js';

const RECONNECT_MS = 1000;

export class PostgresLoginView extends RegistryLogins {
  private hashes = new Map<string, string>();
  private piles = new Map<string, string[]>();
  private client?: pg.Client;
  private reconnect?: NodeJS.Timeout;
  /** raised by every new copy; `changed()` compares it with what it last reported */
  private version = 0;
  private reported = 0;
  private loading?: Promise<void>;
  private reloadWanted = false;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly log?: Logger,
  ) {
    super();
  }

  /** Connects, listens and reads both relations once; rejects if the first copy cannot be read. */
  static async open(url: string, log?: Logger): Promise<PostgresLoginView> {
    const view = new PostgresLoginView(url, log);
    await view.connect(true);
    return view;
  }

  protected passwordHash(username: string): string | undefined {
    return this.hashes.get(username);
  }

  protected gatewayPiles(gid: string): string[] {
    return this.piles.get(gid) ?? [];
  }

  changed(): boolean {
    if (this.version === this.reported) return false;
    this.reported = this.version;
    return true;
  }

  private async connect(first: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'evauth-broker' });
    this.client = client;
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.log?.warn({ err: err?.message }, 'login view: registry connection lost; serving the last copy');
      this.reconnect = setTimeout(() => {
        this.reconnect = undefined;
        void this.connect(false);
      }, RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', () => this.reload());
    try {
      await client.connect();
      await client.query('LISTEN evauth_registry');
      await this.readCopy(client);
    } catch (error) {
      if (first) {
        this.client = undefined;
        await client.end().catch(() => undefined);
        throw error;
      }
      lost(error instanceof Error ? error : undefined);
    }
  }

  /** Reads both relations again; asked for during a read, it reads once more after it. */
  private reload(): void {
    this.reloadWanted = true;
    if (this.loading || !this.client) return;
    this.loading = (async () => {
      try {
        while (this.reloadWanted && this.client) {
          this.reloadWanted = false;
          await this.readCopy(this.client);
        }
      } catch (err) {
        this.log?.warn({ err }, 'login view: registry not read; serving the last copy');
      } finally {
        this.loading = undefined;
      }
    })();
  }

  private async readCopy(client: pg.Client): Promise<void> {
    // one snapshot for both relations
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    try {
      const logins = await client.query<{ username: string; password_hash: string }>(
        'SELECT username, password_hash FROM broker_logins',
      );
      const piles = await client.query<{ gid: string; pid: string }>(
        'SELECT gid, pid FROM broker_gateway_piles ORDER BY gid, pid',
      );
      await client.query('COMMIT');
      this.hashes = new Map(logins.rows.map((r) => [r.username, r.password_hash]));
      const byGateway = new Map<string, string[]>();
      for (const { gid, pid } of piles.rows) {
        const list = byGateway.get(gid);
        if (list) list.push(pid);
        else byGateway.set(gid, [pid]);
      }
      this.piles = byGateway;
      this.version++;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnect);
    const client = this.client;
    this.client = undefined;
    await this.loading?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}
