/**
 * The driver's charging history, kept in IndexedDB (database evauth-head-unit, store "sessions"): each session
 * with its verified readings and, once it ended, the receipt and the pile's OCMF record (PROTOCOL §8a), so the
 * driver can hand the record to anyone later. Bounded: the oldest sessions go beyond HISTORY_LIMIT.
 */
import { type DBSchema, type IDBPDatabase, type IDBPTransaction, openDB } from 'idb';
import * as v from 'valibot';
import { decodeBody, decodeMessage } from '../../shared/messages/decode.js';
import { SessionEnd } from '../../shared/messages/wire.js';

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
  /** the pile's signed record `OCMF|<payload>|<signature>` (§8a); absent from revision-1 receipts */
  ocmf?: string;
  /** true when the car verified `ocmf` under the pile's key from its credential */
  signedByCharger?: boolean;
}

/** How many sessions the history keeps (all vehicles of this head unit together), newest first. */
export const HISTORY_LIMIT = 500;

const DB_NAME = 'evauth-head-unit';
/** 1: sessions; 2: OCMF records taken out of the receipts kept before, and the bound. */
const DB_VERSION = 2;

interface HistoryDb extends DBSchema {
  sessions: { key: string; value: SessionRecord; indexes: { byStart: number } };
}

type UpgradeTransaction = IDBPTransaction<HistoryDb, 'sessions'[], 'versionchange'>;

let db: Promise<IDBPDatabase<HistoryDb>> | undefined;

function open(): Promise<IDBPDatabase<HistoryDb>> {
  db ??= openDB<HistoryDb>(DB_NAME, DB_VERSION, {
    async upgrade(database, oldVersion, _newVersion, transaction) {
      if (oldVersion < 1) {
        const store = database.createObjectStore('sessions', { keyPath: 'sid' });
        store.createIndex('byStart', 'startedAt');
      }
      if (oldVersion < 2) await migrateToOcmf(transaction);
    },
  });
  return db;
}

const OcmfOfBody = v.object({ ocmf: v.optional(v.string()) });

/**
 * The OCMF text inside a kept session.end (its body's `ocmf`), or undefined (revision 1, or not readable).
 * Its signature is not checked here: that needs the credential's key, which the car held when it arrived.
 */
export function ocmfOfReceipt(receiptText: string): string | undefined {
  const message = decodeMessage(SessionEnd, receiptText);
  if (!message.ok) return undefined;
  const body = decodeBody(OcmfOfBody, message.value.body);
  return body.ok ? body.value.ocmf : undefined;
}

/** Version 2: sessions kept before carry their OCMF text apart (not marked as checked); then the bound. */
async function migrateToOcmf(transaction: UpgradeTransaction): Promise<void> {
  const store = transaction.objectStore('sessions');
  for (let cursor = await store.openCursor(); cursor; cursor = await cursor.continue()) {
    const record = cursor.value;
    const ocmf = record.ocmf ?? (record.receipt ? ocmfOfReceipt(record.receipt) : undefined);
    if (ocmf !== record.ocmf) await cursor.update({ ...record, ocmf });
  }
  await pruneOldest(transaction);
}

/** Deletes the oldest sessions beyond HISTORY_LIMIT, in the given read-write transaction. */
async function pruneOldest(
  transaction: UpgradeTransaction | IDBPTransaction<HistoryDb, 'sessions'[], 'readwrite'>,
): Promise<void> {
  const store = transaction.objectStore('sessions');
  let excess = (await store.count()) - HISTORY_LIMIT;
  if (excess <= 0) return;
  for (let cursor = await store.index('byStart').openCursor(); cursor && excess > 0; excess--) {
    await cursor.delete();
    cursor = await cursor.continue();
  }
}

/** Saves (or updates) a session and keeps the history within its bound, in one transaction. */
export async function saveSession(record: SessionRecord): Promise<void> {
  const transaction = (await open()).transaction('sessions', 'readwrite');
  await transaction.store.put(record);
  await pruneOldest(transaction);
  await transaction.done;
}

/** Newest first. */
export async function listSessions(vid: string): Promise<SessionRecord[]> {
  const all = await (await open()).getAllFromIndex('sessions', 'byStart');
  return all.filter((r) => r.vid === vid).reverse();
}
