/** credential.request (PROTOCOL §5): MAC, ±300 s, nonce replay, entitlement — or credential.denied with a code. */
import {
  CLOCK_SKEW_SECONDS,
  type CredentialDenialCode,
  CredentialRequest,
  decodeMessage,
  deriveVehicleMacKey,
  isValidId,
  parseJsonObject,
  topics,
  verifyCredentialRequest,
} from '../shared/index.js';
import {
  entitlement,
  type IssuerOptions,
  issueCredential,
  latestTicket,
  RENEW_AT_FRACTION,
} from './issuer.js';
import type { PileRow, Registry } from './registry.js';

export interface Outbound {
  topic: string;
  payload: string;
  retain: boolean;
}

export type RequestOutcome =
  | { kind: 'issued'; vid: string; pid: string; tid: string }
  | { kind: 'resent'; vid: string; pid: string; tid: string; message: Outbound }
  | { kind: 'denied'; vid: string; pid: string; code: CredentialDenialCode; message: Outbound }
  | { kind: 'dropped'; reason: string };

/** Requests per vehicle per minute before RATE_LIMITED. */
const RATE_PER_MINUTE = 20;

export class RequestLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  allow(vid: string, nowMs: number): boolean {
    const w = this.windows.get(vid);
    if (!w || nowMs - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      this.windows.set(vid, { start: nowMs, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= RATE_PER_MINUTE;
  }
}

function denied(vid: string, pid: string, code: CredentialDenialCode): RequestOutcome {
  return {
    kind: 'denied',
    vid,
    pid,
    code,
    message: {
      topic: topics.vehicleCloud(vid),
      payload: JSON.stringify({ v: 1, type: 'credential.denied', pid, code }),
      retain: false,
    },
  };
}

export function handleCredentialRequest(
  registry: Registry,
  payload: Uint8Array,
  nowMs: number,
  limiter: RequestLimiter,
  options: IssuerOptions,
): RequestOutcome {
  const decoded = decodeMessage(CredentialRequest, payload);
  if (!decoded.ok) {
    // Answer only when the request still names a vehicle we can address.
    const raw = parseJsonObject(payload);
    const vid = raw.ok ? raw.value['vid'] : undefined;
    const pid = raw.ok && isValidId(raw.value['pid']) ? raw.value['pid'] : '';
    if (!isValidId(vid)) return { kind: 'dropped', reason: decoded.message };
    return pid ? denied(vid, pid, decoded.code) : { kind: 'dropped', reason: decoded.message };
  }
  const request = decoded.value;
  const { vid, pid } = request;
  const now = Math.floor(nowMs / 1000);
  const vehicle = registry.db.prepare('SELECT revoked_at FROM vehicles WHERE vid = ?').get(vid) as
    | { revoked_at: number | null }
    | undefined;
  if (!vehicle || vehicle.revoked_at !== null) return denied(vid, pid, 'UNKNOWN_VEHICLE');
  if (!verifyCredentialRequest(deriveVehicleMacKey(registry.vehicleKey(vid), vid), request)) {
    return denied(vid, pid, 'BAD_MAC');
  }
  if (Math.abs(now - request.ts) > CLOCK_SKEW_SECONDS) return denied(vid, pid, 'STALE');
  const fresh = registry.db
    .prepare('INSERT OR IGNORE INTO request_nonces(vid, nonce, ts) VALUES (?, ?, ?)')
    .run(vid, request.nonce, now);
  if (fresh.changes === 0) return denied(vid, pid, 'REPLAY');
  if (!limiter.allow(vid, nowMs)) return denied(vid, pid, 'RATE_LIMITED');
  const pile = registry.db.prepare('SELECT * FROM piles WHERE pid = ?').get(pid) as PileRow | undefined;
  const grant = pile && entitlement(registry, vid, pile, now);
  if (!pile || !grant) return denied(vid, pid, 'NOT_ENTITLED');

  return registry.db
    .transaction((): RequestOutcome => {
      const current = latestTicket(registry, vid, pid);
      const usable =
        current &&
        current.revoked_at === null &&
        current.off === pile.key_offset &&
        current.exp - now > RENEW_AT_FRACTION * (current.exp - current.iat);
      if (usable) {
        return {
          kind: 'resent',
          vid,
          pid,
          tid: current.tid,
          message: { topic: topics.credential(vid, pid), payload: current.sealed, retain: true },
        };
      }
      const issued = issueCredential(registry, vid, pile, grant, now, options);
      return { kind: 'issued', vid, pid, tid: issued.tid };
    })
    .immediate();
}
