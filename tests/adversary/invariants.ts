/**
 * The invariants of issue #12 checked after each adversarial run, from what the real system shows: the gateway's
 * durable session records, its log lines (a refusal names the vehicle, the pile and the code), its memory gauges,
 * and what the genuine vehicle clients accepted. Pure: evidence in, violations out.
 *
 * One violation is known and expected (docs/adversary.md): PROTOCOL §6 counts a wrong auth.response towards the
 * vehicle's lockout, so an attacker who sees a pending sid (a hostile network path) can charge failed proofs to a
 * genuine vehicle and lock it out of a pile. Such violations are reported with `knownFlaw: true`.
 */
import type { VerifiedReceipt } from '../../head-unit/vehicle/index.js';
import type { LogLine } from '../../node/child-process.js';
import type { SessionRecord } from '../../pile-gateway/store.js';

/** One authenticate() of a genuine vehicle, and what came of it. */
export interface GenuineAttempt {
  vid: string;
  pid: string;
  connector: number;
  /** known once the request was built */
  sid?: string;
  ok: boolean;
  code?: string;
  /** the vehicle sent its auth.response (its proof) for this sid */
  proved: boolean;
  receipt?: VerifiedReceipt;
  /** readings the vehicle accepted (MAC verified) */
  meters: { seq: number; wh: number }[];
  /** a failure after authorisation (no receipt in time) */
  error?: string;
}

export type InvariantName =
  | 'charging-without-proof'
  | 'unattacked-session-failed'
  | 'counted-against-another'
  | 'locked-out-by-another'
  | 'receipt-not-signed-by-pile'
  | 'memory-unbounded';

export interface Violation {
  invariant: InvariantName;
  detail: string;
  /** the documented protocol flaw (PROTOCOL §6: a wrong proof for a known pending sid counts toward lockout) */
  knownFlaw: boolean;
}

export interface Evidence {
  attempts: readonly GenuineAttempt[];
  /** the gateway's session records (all of them) */
  records: readonly SessionRecord[];
  /** the gateway's log lines of this run */
  logs: readonly LogLine[];
  /** the attacker's own vehicle: its sessions are its own, with its own proof */
  attackerVid: string;
  /** every genuine vehicle of the system so far */
  genuineVids: ReadonlySet<string>;
  /** 16-byte tokens the attacker published */
  targeted: ReadonlySet<string>;
  /** whether the attacker could see pending sids (a hostile network path) */
  seesPendingSids: boolean;
  /** evauth_gateway_pile_memory_entries by memory kind */
  memory: Readonly<Record<string, number>>;
  /** the most each memory may hold given the real vehicles' own traffic */
  memoryBounds: Readonly<Record<string, number>>;
}

export function checkInvariants(e: Evidence): Violation[] {
  const violations: Violation[] = [];
  const add = (invariant: InvariantName, detail: string, knownFlaw = false) =>
    violations.push({ invariant, detail, knownFlaw });
  const runVids = new Set(e.attempts.map((a) => a.vid));

  // 1. No charging opened without the genuine vehicle's proof.
  const proved = new Set(e.attempts.filter((a) => a.proved && a.sid).map((a) => `${a.vid}/${a.sid}`));
  for (const r of e.records) {
    if (r.vid === e.attackerVid) continue;
    if (!e.genuineVids.has(r.vid))
      add('charging-without-proof', `session ${r.sid} for unknown vehicle ${r.vid}`);
    else if (runVids.has(r.vid) && !proved.has(`${r.vid}/${r.sid}`))
      add(
        'charging-without-proof',
        `session ${r.sid} of ${r.vid} at ${r.pid}: the vehicle never sent its proof`,
      );
  }

  // 3. Nothing of another's traffic counted against a genuine vehicle (failed proofs, limits, lockout).
  const foreignProofs = new Map<string, number>();
  /** genuine vehicles locked out by failed proofs the attacker charged to them */
  const lockedOutBy = new Set<string>();
  for (const line of e.logs) {
    const vid = typeof line.vid === 'string' ? line.vid : undefined;
    if (!vid || !runVids.has(vid)) continue;
    const sid = typeof line.sid === 'string' ? line.sid : '';
    const at = `${vid} at ${String(line.pile)} (sid ${sid})`;
    if (line.code === 'BAD_PROOF') {
      // A genuine vehicle only ever sends its true proof: a BAD_PROOF under its name came from someone else.
      const known = e.seesPendingSids && e.targeted.has(sid);
      if (known)
        foreignProofs.set(`${vid}@${line.pile}`, (foreignProofs.get(`${vid}@${line.pile}`) ?? 0) + 1);
      add('counted-against-another', `a failed proof counted against ${at}`, known);
    } else if (line.code === 'RATE_LIMITED') {
      const known =
        String(line.msg).includes('failed proofs') && (foreignProofs.get(`${vid}@${line.pile}`) ?? 0) > 0;
      if (known) lockedOutBy.add(vid);
      add('locked-out-by-another', `${at} refused: ${String(line.msg)}`, known);
    }
  }

  // 2. Every genuine session the attacker did not target completes with a verified receipt.
  for (const a of e.attempts) {
    const attacked = a.sid !== undefined && e.targeted.has(a.sid);
    if (attacked || (a.ok && a.receipt)) continue;
    const what = `${a.vid} at ${a.pid}/${a.connector} (sid ${a.sid ?? '-'}): ${a.code ?? a.error ?? 'no receipt'}`;
    add('unattacked-session-failed', what, a.code === 'RATE_LIMITED' && lockedOutBy.has(a.vid));
  }

  // 4. Every receipt a vehicle accepted is the one the pile signed and stored, for the energy it metered.
  const byId = new Map(e.records.map((r) => [r.sid, r]));
  for (const a of e.attempts) {
    if (!a.receipt) continue;
    const r = byId.get(a.receipt.sid);
    const wh = a.receipt.receipt.wh;
    if (!r || r.receipt !== JSON.stringify(a.receipt.message) || r.lastWh !== wh || r.vid !== a.vid)
      add(
        'receipt-not-signed-by-pile',
        `${a.vid} accepted ${wh} Wh for ${a.receipt.sid}; the pile recorded ${r?.lastWh}`,
      );
    for (const m of a.meters)
      if (m.wh > wh)
        add(
          'receipt-not-signed-by-pile',
          `${a.vid} accepted a reading of ${m.wh} Wh above the receipt's ${wh}`,
        );
  }

  // 5. The piles' memories hold no more than the real vehicles' own traffic explains.
  for (const [memory, bound] of Object.entries(e.memoryBounds)) {
    const held = e.memory[memory] ?? 0;
    if (held > bound) add('memory-unbounded', `${memory}: ${held} entries, at most ${bound} expected`);
  }
  return violations;
}
