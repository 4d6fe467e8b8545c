/**
 * The cloud's store on SQLite (`<data>/cloud.db`, WAL). better-sqlite3 is synchronous and one connection serves
 * every unit of work, so units are serialised: one async unit runs from its BEGIN to its COMMIT before the next
 * starts, however often it awaits. Other processes (the admin CLI) wait on SQLite's own lock (busy_timeout).
 */
import Database from 'better-sqlite3';
import type { CloudReads, CloudStore, CloudTx } from './cloud-store.js';
import { migrate } from './sqlite-schema.js';
import { SqliteUnit, type UnitMode } from './sqlite-unit.js';

export interface SqliteStoreOptions {
  /** open an existing database for reading only (no migration) */
  readonly?: boolean;
  fileMustExist?: boolean;
}

export class SqliteCloudStore implements CloudStore {
  private readonly unit: SqliteUnit;
  private readonly begin: { read: Database.Statement; write: Database.Statement };
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  /** the last unit of work queued: the next one starts when it has settled */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly db: Database.Database) {
    this.unit = new SqliteUnit(db);
    this.begin = { read: db.prepare('BEGIN DEFERRED'), write: db.prepare('BEGIN IMMEDIATE') };
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  /** Opens (creating and migrating, unless read-only) the database at `path`. */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteCloudStore {
    const db = new Database(path, {
      fileMustExist: options.fileMustExist ?? options.readonly ?? false,
      readonly: options.readonly ?? false,
    });
    try {
      db.pragma('busy_timeout = 5000');
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        migrate(db);
      }
      return new SqliteCloudStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  transaction<T>(work: (tx: CloudTx) => Promise<T>): Promise<T> {
    return this.serialised('write', work);
  }

  read<T>(work: (tx: CloudReads) => Promise<T>): Promise<T> {
    return this.serialised('read', work);
  }

  async externalVersion(): Promise<number> {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    await this.tail;
    this.db.close();
  }

  private serialised<T>(mode: Exclude<UnitMode, 'closed'>, work: (tx: CloudTx) => Promise<T>): Promise<T> {
    const run = this.tail.then(() => this.runUnit(mode, work));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async runUnit<T>(mode: Exclude<UnitMode, 'closed'>, work: (tx: CloudTx) => Promise<T>): Promise<T> {
    this.begin[mode].run();
    this.unit.setMode(mode);
    try {
      const result = await work(this.unit);
      this.unit.setMode('closed');
      this.commit.run();
      return result;
    } catch (error) {
      this.unit.setMode('closed');
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
  }
}
