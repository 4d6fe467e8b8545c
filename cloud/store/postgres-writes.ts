/**
 * The writes a PostgreSQL unit of work holds back: new tickets, retained payloads put without comparing, and audit
 * rows are what a pass writes for every credential, and nothing it reads next depends on them (a pass reads a pair
 * before it issues for it, never after). Each is sent once per kind as a multi-row statement, before the unit
 * reads what they would change and before it commits: a round trip per kind and batch instead of three per
 * credential, which on a busy machine is most of the cost of issuing. A write refused here (a duplicate tid)
 * fails the unit at the next read of that table or at commit, and rolls it all back as ever.
 */
import type * as Row from './records.js';

export type HeldTable = 'tickets' | 'retained' | 'audit';

type Send = (text: string, values: unknown[]) => Promise<unknown>;

const INSERT_TICKETS = `INSERT INTO tickets(tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed, sign_key)
  SELECT tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed, sign_key
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::text[], $10::text[], $11::text[]) WITH ORDINALITY
    AS t(tid, vid, pid, grant_id, off, iat, nbf, exp, ticket, sealed, sign_key, n)
  ORDER BY n`;

const PUT_RETAINED = `INSERT INTO retained(topic, payload, updated_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
  ON CONFLICT(topic) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at,
    rev = nextval('retained_rev')`;

const INSERT_AUDIT = `INSERT INTO audit(ts, actor, action, subject, detail)
  SELECT ts, actor, action, subject, detail
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
    AS a(ts, actor, action, subject, detail, n)
  ORDER BY n`;

export class HeldWrites {
  private tickets: Row.IssuedTicket[] = [];
  private ticketPairs = new Set<string>();
  /** by topic: the last put wins, as it would have in the table */
  private retained = new Map<string, { payload: string; at: number }>();
  private audits: Row.AuditEntry[] = [];

  addTicket(ticket: Row.IssuedTicket): void {
    this.tickets.push(ticket);
    this.ticketPairs.add(`${ticket.vid}\u0000${ticket.pid}`);
  }

  holdsPair(vid: string, pid: string): boolean {
    return this.ticketPairs.has(`${vid}\u0000${pid}`);
  }

  putRetained(topic: string, payload: string, at: number): void {
    this.retained.set(topic, { payload, at });
  }

  holdsTopic(topic: string): boolean {
    return this.retained.has(topic);
  }

  addAudit(entry: Row.AuditEntry): void {
    this.audits.push(entry);
  }

  /** Sends what is held for `table` (every table when omitted). */
  async send(send: Send, table?: HeldTable): Promise<void> {
    if ((!table || table === 'tickets') && this.tickets.length > 0) {
      const rows = this.tickets;
      this.tickets = [];
      this.ticketPairs = new Set();
      const column = <K extends keyof Row.IssuedTicket>(key: K) => rows.map((r) => r[key]);
      await send(INSERT_TICKETS, [
        column('tid'),
        column('vid'),
        column('pid'),
        column('grant_id'),
        column('off'),
        column('iat'),
        column('nbf'),
        column('exp'),
        column('ticket'),
        column('sealed'),
        column('sign_key'),
      ]);
    }
    if ((!table || table === 'retained') && this.retained.size > 0) {
      const rows = [...this.retained];
      this.retained = new Map();
      await send(PUT_RETAINED, [
        rows.map(([t]) => t),
        rows.map(([, r]) => r.payload),
        rows.map(([, r]) => r.at),
      ]);
    }
    if ((!table || table === 'audit') && this.audits.length > 0) {
      const rows = this.audits;
      this.audits = [];
      await send(INSERT_AUDIT, [
        rows.map((r) => r.ts),
        rows.map((r) => r.actor),
        rows.map((r) => r.action),
        rows.map((r) => r.subject),
        rows.map((r) => r.detail),
      ]);
    }
  }
}
