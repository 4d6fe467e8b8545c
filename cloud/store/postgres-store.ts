/**
 * The cloud's store on PostgreSQL (`EVAUTH_DATABASE_URL=postgres://…`), for several cloud instances sharing one
 * registry (docs/deploy.md). Units of work run side by side, each a transaction on one pooled connection (READ
 * COMMITTED: a row locked with `lockPile` comes back as its last holder committed it). Retained rows get their
 * final rev just before COMMIT under a transaction-scoped advisory lock, so revs rise in commit order: a
 * publisher that has seen rev n has seen every row committed before it. `externalVersion` counts the
 * `evauth_registry` notifications (postgres-schema.ts) on a listening connection of its own.
 */
import pg from 'pg';
import type { CloudReads, CloudStore, CloudTx } from './cloud-store.js';
import { migratePostgres } from './postgres-schema.js';
import { PostgresUnit } from './postgres-unit.js';

/** An arbitrary constant: the advisory lock under which a committing unit numbers its retained rows. */
const RETAINED_REV_LOCK = 0x65767276;
/** how long a lost listening connection waits before it connects again */
const RELISTEN_MS = 1000;

/** BIGINT (int8) columns as numbers: every one of ours (Unix seconds, offsets, ids, revs) is below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresStoreOptions {
  /** connections at most (default 10) */
  maxConnections?: number;
}

export class PostgresCloudStore implements CloudStore {
  private listener?: pg.Client;
  private relisten?: NodeJS.Timeout;
  private version = 0;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.ClientConfig,
  ) {}

  /** Connects to the database at `url` and migrates its schema. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresCloudStore> {
    const config: pg.ClientConfig = { connectionString: url, types, application_name: 'evauth-cloud' };
    const pool = new pg.Pool({ ...config, max: options.maxConnections ?? 10 });
    // an idle connection that breaks (the server restarts) is an error event on the pool, not a crash
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
      return new PostgresCloudStore(pool, config);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  transaction<T>(work: (tx: CloudTx) => Promise<T>): Promise<T> {
    return this.unitOfWork('write', 'BEGIN', work);
  }

  read<T>(work: (tx: CloudReads) => Promise<T>): Promise<T> {
    return this.unitOfWork('read', 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY', work);
  }

  /** One unit on a pooled connection: committed when `work` resolves, rolled back when it throws. */
  private async unitOfWork<T>(
    mode: 'read' | 'write',
    begin: string,
    work: (unit: PostgresUnit) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    const unit = new PostgresUnit(client, mode);
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await work(unit);
      if (mode === 'write') await this.beforeCommit(client, unit);
      unit.close();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      unit.close();
      broken = await rollback(client);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** A write unit's held-back writes go out, and its retained rows take their final revs, under the rev lock. */
  private async beforeCommit(client: pg.PoolClient, unit: PostgresUnit): Promise<void> {
    await unit.sendHeld();
    if (unit.retainedTopics.size === 0) return;
    await client.query('SELECT pg_advisory_xact_lock($1)', [RETAINED_REV_LOCK]);
    await client.query("UPDATE retained SET rev = nextval('retained_rev') WHERE topic = ANY($1)", [
      [...unit.retainedTopics],
    ]);
  }

  /** Starts listening at the first call; every notification, and every lost listening connection, counts. */
  async externalVersion(): Promise<number> {
    if (!this.listener && !this.relisten && !this.closed) await this.listen();
    return this.version;
  }

  private async listen(): Promise<void> {
    const listener = new pg.Client(this.config);
    this.listener = listener;
    const lost = () => {
      if (this.listener !== listener) return;
      this.listener = undefined;
      this.version++; // a change may have gone unheard
      void listener.end().catch(() => undefined);
      if (!this.closed)
        this.relisten = setTimeout(() => {
          this.relisten = undefined;
          void this.listen();
        }, RELISTEN_MS);
    };
    listener.on('notification', () => this.version++);
    listener.on('error', lost);
    listener.on('end', lost);
    try {
      await listener.connect();
      await listener.query('LISTEN evauth_registry');
    } catch {
      lost();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relisten);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/** Rolls the connection's transaction back; the error when the connection is unusable (then it is discarded). */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
