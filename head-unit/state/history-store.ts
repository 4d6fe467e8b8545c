/** The driver's charging history, kept in IndexedDB (database evauth-head-unit, store "sessions"). */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';

export interface EnergyPoint {
  /** ms since the epoch */
  t: number;
  wh: number;
}

export interface SessionRecord {
  sid: string;
  vid: string;
  pid: string;
  pileName: string;
  connector: number;
  startedAt: number;
  endedAt?: number;
  wh: number;
  cost?: string;
  currency: string;
  reason?: string;
  /** verified readings only */
  points: EnergyPoint[];
  /** the signed session.end exactly as received (JSON text), kept as proof */
  receipt?: string;
}

interface HistoryDb extends DBSchema {
  sessions: { key: string; value: SessionRecord; indexes: { byStart: number } };
}

let db: Promise<IDBPDatabase<HistoryDb>> | undefined;

function open(): Promise<IDBPDatabase<HistoryDb>> {
  db ??= openDB<HistoryDb>('evauth-head-unit', 1, {
    upgrade(database) {
      const store = database.createObjectStore('sessions', { keyPath: 'sid' });
      store.createIndex('byStart', 'startedAt');
    },
  });
  return db;
}

export async function saveSession(record: SessionRecord): Promise<void> {
  await (await open()).put('sessions', record);
}

/** Newest first. */
export async function listSessions(vid: string): Promise<SessionRecord[]> {
  const all = await (await open()).getAllFromIndex('sessions', 'byStart');
  return all.filter((r) => r.vid === vid).reverse();
}
