/**
 * Durable session records and applied control state (SQLite, WAL). Every write happens before the message
 * that depends on it is published: the SK is stored before auth.result (so a restarted gateway can still sign
 * the receipt), each meter reading before its session.meter, the receipt before session.end.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { PileControlSnapshot } from '../shared/index.js';
import { WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer.js';

/** The OCMF pagination (PG "T<pg>") of a pile's receipt. */
export interface ReceiptPage {
  pid: string;
  pg: number;
}

export interface SessionRecord {
  sid: string;
  pid: string;
  connector: number;
  vid: string;
  tid: string;
  sk: Uint8Array;
  maxWh: number | null;
  maxW: number;
  pricePerKWh: string;
  currency: string;
  startedAt: number;
  meterSeq: number;
  stopSeq: number;
  lastWh: number;
  lastW: number;
  lastMeterAt: number;
  /** open until the receipt is signed */
  state: 'open' | 'closed';
  reason: string | null;
  endedAt: number | null;
  /** the signed session.end payload, kept so it can be sent again */
  receipt: string | null;
  /** the charger's own signed readings (JSON array of ChargerSignedReading, OCMF as the meter sent it) */
  chargerSigned: string | null;
  /** what the charger needs to take the session back after a restart (OCPP: its transaction and start register) */
  chargerBinding: string | null;
  /** signed readings for the OCMF record's TX T readings (JSON array of OcmfIntermediateReading), if any */
  ocmfReadings: string | null;
}

interface Row {
  sid: string;
  pid: string;
  connector: number;
  vid: string;
  tid: string;
  sk: Buffer;
  max_wh: number | null;
  max_w: number;
  price_per_kwh: string;
  currency: string;
  started_at: number;
  meter_seq: number;
  stop_seq: number;
  last_wh: number;
  last_w: number;
  last_meter_at: number;
  state: 'open' | 'closed';
  reason: string | null;
  ended_at: number | null;
  /** a receipt of a database from before the receipts table */
  receipt: string | null;
  receipt_payload: string | null;
  charger_signed: string | null;
  charger_binding: string | null;
  ocmf_readings: string | null;
}

function fromRow(r: Row): SessionRecord {
  return {
    sid: r.sid,
    pid: r.pid,
    connector: r.connector,
    vid: r.vid,
    tid: r.tid,
    sk: new Uint8Array(r.sk),
    maxWh: r.max_wh,
    maxW: r.max_w,
    pricePerKWh: r.price_per_kwh,
    currency: r.currency,
    startedAt: r.started_at,
    meterSeq: r.meter_seq,
    stopSeq: r.stop_seq,
    lastWh: r.last_wh,
    lastW: r.last_w,
    lastMeterAt: r.last_meter_at,
    state: r.state,
    reason: r.reason,
    endedAt: r.ended_at,
    receipt: r.receipt_payload ?? r.receipt,
    chargerSigned: r.charger_signed,
    chargerBinding: r.charger_binding,
    ocmfReadings: r.ocmf_readings,
  };
}

/** A session row with its receipt (from the receipts table, or the row itself in an older database). */
const SELECT_SESSIONS =
  'SELECT s.*, r.payload AS receipt_payload FROM sessions s LEFT JOIN receipts r ON r.id = s.receipt_id';

export class SessionStore {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;
  private readonly meterStmt: Database.Statement;
  private readonly meterWithReadingsStmt: Database.Statement;
  private readonly receiptStmt: Database.Statement;
  private readonly controlStmt: Database.Statement;
  private readonly chargerSignedStmt: Database.Statement;
  private readonly lastReceiptPageStmt: Database.Statement;
  private readonly chargerBindingStmt: Database.Statement;
  // Prepared once: a statement prepared per call keeps its native memory until the JS object is collected,
  // which for 10,000 piles loading their control state at start was ~136 MB of RSS.
  private readonly getStmt: Database.Statement;
  private readonly openSessionsStmt: Database.Statement;
  private readonly recentStmt: Database.Statement;
  private readonly loadControlStmt: Database.Statement;
  private readonly lastClosedStmt: Database.Statement;
  /** set with sqliteSync "normal": checkpoints in a worker thread */
  readonly checkpointer?: WalCheckpointer;

  constructor(
    dataDir: string,
    options: { sync?: 'full' | 'normal'; checkpoints?: WalCheckpointerOptions } = {},
  ) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, 'sessions.db');
    // Only this process writes here; a short busy wait keeps an outside reader (backup, sqlite3 shell) from
    // stalling the event loop for long. A write that still fails refuses the handshake with INTERNAL.
    this.db = new Database(file, { timeout: 1000 });
    this.db.pragma('journal_mode = WAL');
    // NORMAL (default): every record is in the WAL before the message that depends on it, so a process crash or
    // SIGKILL loses nothing, without an fsync on the handshake's path; a checkpoint (which fsyncs) every 250 ms,
    // in a worker thread, bounds what an OS crash or power loss could take to about the last quarter second of
    // records. FULL fsyncs every record (the config chooses), costing ~10 ms per handshake on an ordinary disk.
    const sync = options.sync ?? 'normal';
    this.db.pragma(sync === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        sid TEXT PRIMARY KEY, pid TEXT NOT NULL, connector INTEGER NOT NULL, vid TEXT NOT NULL,
        tid TEXT NOT NULL, sk BLOB NOT NULL, max_wh INTEGER, max_w INTEGER NOT NULL,
        price_per_kwh TEXT NOT NULL, currency TEXT NOT NULL, started_at INTEGER NOT NULL,
        meter_seq INTEGER NOT NULL DEFAULT 0, stop_seq INTEGER NOT NULL DEFAULT 0,
        last_wh INTEGER NOT NULL DEFAULT 0, last_w INTEGER NOT NULL DEFAULT 0,
        last_meter_at INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'open', reason TEXT, ended_at INTEGER, receipt TEXT);
      CREATE INDEX IF NOT EXISTS sessions_open ON sessions(state) WHERE state = 'open';
      CREATE TABLE IF NOT EXISTS control (pid TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS receipt_pages (pid TEXT PRIMARY KEY, pg INTEGER NOT NULL);
    `);
    // receipt_pages held each pile's last PG in a second write per receipt; a database from then keeps it readable.
    // Added with the OCPP chargers: a database from before gains the column.
    const columns = this.db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'charger_signed'))
      this.db.exec('ALTER TABLE sessions ADD COLUMN charger_signed TEXT');
    if (!columns.some((c) => c.name === 'charger_binding'))
      this.db.exec('ALTER TABLE sessions ADD COLUMN charger_binding TEXT');
    // Added with the OCMF intermediate readings (TX T).
    if (!columns.some((c) => c.name === 'ocmf_readings'))
      this.db.exec('ALTER TABLE sessions ADD COLUMN ocmf_readings TEXT');
    // Each receipt's OCMF pagination, in the UPDATE that stores the receipt (one statement, no transaction of its
    // own on the handshake's path); the partial index finds a pile's last one at start.
    if (!columns.some((c) => c.name === 'receipt_pg'))
      this.db.exec('ALTER TABLE sessions ADD COLUMN receipt_pg INTEGER');
    this.db.exec(
      'CREATE INDEX IF NOT EXISTS sessions_receipt_pg ON sessions(pid, receipt_pg) WHERE receipt_pg IS NOT NULL',
    );
    // A receipt is appended to a table of its own, and closes its session through triggers: one statement, as
    // before, but the session row no longer grows from ~200 bytes to a signed receipt's ~1.2 KB in place, which
    // split a leaf page every few receipts (on a bare SQLite file: ~60 µs a receipt growing the row, ~45 µs
    // appended). The receipt row carries the closing facts only for the trigger to copy them (NEW.*). A receipt
    // of an older database stays in sessions.receipt and is read from there.
    if (!columns.some((c) => c.name === 'receipt_id'))
      this.db.exec('ALTER TABLE sessions ADD COLUMN receipt_id INTEGER');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS receipts (
        id INTEGER PRIMARY KEY, sid TEXT NOT NULL, reason TEXT NOT NULL, ended_at INTEGER NOT NULL,
        wh INTEGER NOT NULL, stop_seq INTEGER, pg INTEGER, payload TEXT NOT NULL);
      CREATE TRIGGER IF NOT EXISTS receipt_needs_open_session BEFORE INSERT ON receipts
        WHEN NOT EXISTS (SELECT 1 FROM sessions WHERE sid = NEW.sid AND state = 'open')
        BEGIN SELECT RAISE(IGNORE); END;
      CREATE TRIGGER IF NOT EXISTS receipt_closes_session AFTER INSERT ON receipts BEGIN
        UPDATE sessions SET state = 'closed', reason = NEW.reason, ended_at = NEW.ended_at, last_wh = NEW.wh,
          stop_seq = COALESCE(NEW.stop_seq, stop_seq), receipt_pg = NEW.pg, receipt_id = NEW.id
          WHERE sid = NEW.sid;
      END;
    `);
    this.insertStmt = this.db.prepare(
      `INSERT INTO sessions (sid, pid, connector, vid, tid, sk, max_wh, max_w, price_per_kwh, currency,
        started_at, last_meter_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.meterStmt = this.db.prepare(
      'UPDATE sessions SET meter_seq = ?, last_wh = ?, last_w = ?, last_meter_at = ? WHERE sid = ?',
    );
    this.meterWithReadingsStmt = this.db.prepare(
      `UPDATE sessions SET meter_seq = ?, last_wh = ?, last_w = ?, last_meter_at = ?, ocmf_readings = ?
        WHERE sid = ?`,
    );
    this.receiptStmt = this.db.prepare(
      'INSERT INTO receipts (reason, ended_at, payload, wh, stop_seq, pg, sid) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.controlStmt = this.db.prepare(
      'INSERT INTO control (pid, snapshot) VALUES (?, ?) ON CONFLICT(pid) DO UPDATE SET snapshot = excluded.snapshot',
    );
    this.chargerSignedStmt = this.db.prepare('UPDATE sessions SET charger_signed = ? WHERE sid = ?');
    this.lastReceiptPageStmt = this.db
      .prepare(
        `SELECT MAX(COALESCE((SELECT pg FROM receipt_pages WHERE pid = @pid), 0),
          COALESCE((SELECT MAX(receipt_pg) FROM sessions WHERE pid = @pid AND receipt_pg IS NOT NULL), 0))`,
      )
      .pluck();
    this.chargerBindingStmt = this.db.prepare('UPDATE sessions SET charger_binding = ? WHERE sid = ?');
    this.getStmt = this.db.prepare(`${SELECT_SESSIONS} WHERE s.sid = ?`);
    this.openSessionsStmt = this.db.prepare(`${SELECT_SESSIONS} WHERE s.state = 'open'`);
    this.recentStmt = this.db.prepare(`${SELECT_SESSIONS} ORDER BY s.started_at DESC LIMIT ?`);
    this.loadControlStmt = this.db.prepare('SELECT snapshot FROM control WHERE pid = ?');
    // Backwards in insertion order, stopping at the limit: past the open sessions only (at most one a connector),
    // never a scan of every session ever recorded, and no index to keep up on the handshake's path.
    this.lastClosedStmt = this.db.prepare(
      `${SELECT_SESSIONS} WHERE s.state = 'closed' ORDER BY s.rowid DESC LIMIT ?`,
    );
    // After the schema exists: the worker's connection opens an existing file.
    if (sync === 'normal') this.checkpointer = new WalCheckpointer(this.db, file, options.checkpoints);
  }

  open(
    r: Omit<
      SessionRecord,
      | 'meterSeq'
      | 'stopSeq'
      | 'lastWh'
      | 'lastW'
      | 'lastMeterAt'
      | 'state'
      | 'reason'
      | 'endedAt'
      | 'receipt'
      | 'chargerSigned'
      | 'chargerBinding'
      | 'ocmfReadings'
    >,
  ): void {
    this.insertStmt.run(
      r.sid,
      r.pid,
      r.connector,
      r.vid,
      r.tid,
      Buffer.from(r.sk),
      r.maxWh,
      r.maxW,
      r.pricePerKWh,
      r.currency,
      r.startedAt,
      r.startedAt,
    );
  }

  /** A signed reading; with `ocmfReadings`, the session's intermediate readings for its OCMF record (the whole JSON). */
  recordMeter(sid: string, seq: number, wh: number, w: number, at: number, ocmfReadings?: string): void {
    if (ocmfReadings === undefined) this.meterStmt.run(seq, wh, w, at, sid);
    else this.meterWithReadingsStmt.run(seq, wh, w, at, ocmfReadings, sid);
  }

  /** The charger's signed readings so far (the whole JSON array each time: a session has a handful). */
  recordChargerSigned(sid: string, json: string): void {
    this.chargerSignedStmt.run(json, sid);
  }

  /** How the charger runs the session (ChargerController.binding), for a restarted gateway to take it back. */
  recordChargerBinding(sid: string, json: string): void {
    this.chargerBindingStmt.run(json, sid);
  }

  /**
   * Closes an open session with its signed receipt, and the seq of the session.stop that ended it, and the OCMF
   * pagination its receipt carries (PROTOCOL §8a PG) as the pile's latest (one transaction: all of it is on record
   * or none); false if it was not open.
   */
  closeSession(
    sid: string,
    reason: string,
    endedAt: number,
    wh: number,
    receipt: string,
    stopSeq?: number,
    page?: ReceiptPage,
  ): boolean {
    return (
      this.receiptStmt.run(reason, endedAt, receipt, wh, stopSeq ?? null, page?.pg ?? null, sid).changes === 1
    );
  }

  /** The OCMF pagination (PG) of the pile's latest stored receipt, 0 before its first. */
  lastReceiptPage(pid: string): number {
    return (this.lastReceiptPageStmt.get({ pid }) as number | undefined) ?? 0;
  }

  get(sid: string): SessionRecord | undefined {
    const row = this.getStmt.get(sid) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  openSessions(): SessionRecord[] {
    return (this.openSessionsStmt.all() as Row[]).map(fromRow);
  }

  recent(limit = 100): SessionRecord[] {
    return (this.recentStmt.all(limit) as Row[]).map(fromRow);
  }

  /** The closed sessions (their receipts signed) among the last ones opened, the latest ended first. */
  lastClosed(limit: number): SessionRecord[] {
    const rows = (this.lastClosedStmt.all(limit) as Row[]).map(fromRow);
    return rows.sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
  }

  saveControl(pid: string, snapshot: PileControlSnapshot): void {
    this.controlStmt.run(pid, JSON.stringify(snapshot));
  }

  loadControl(pid: string): PileControlSnapshot | undefined {
    const row = this.loadControlStmt.get(pid) as { snapshot: string } | undefined;
    return row ? (JSON.parse(row.snapshot) as PileControlSnapshot) : undefined;
  }

  closeDatabase(): void {
    this.checkpointer?.stop();
    this.db.close();
  }
}
