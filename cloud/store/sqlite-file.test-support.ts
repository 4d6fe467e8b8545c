/** Test support: a look at a cloud.db file over a read-only connection of its own. For tests only. */
import Database from 'better-sqlite3';

/** Row counts of every table: equal counts before and after mean nothing was added or removed. */
export function tableRowCounts(dbPath: string): Record<string, number> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    return Object.fromEntries(
      tables.map((t) => [t, db.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get() as number]),
    );
  } finally {
    db.close();
  }
}
