/**
 * pile.control (PROTOCOL §7): the cloud's signed list of accepted key offsets, revoked tickets and (revision 2)
 * revoked vehicles. A payload may be up to 256 KiB; its body is parsed only once its mac verified.
 */
import { b64uEncode, tryB64uDecode } from './crypto/bytes.js';
import { LABEL } from './crypto/labels.js';
import { mac, verifyMac } from './crypto/mac.js';
import { fail, ok, type Result } from './errors.js';
import { CLOCK_SKEW_SECONDS, MAX_CONTROL_PAYLOAD_BYTES } from './ids.js';
import { type ControlBody, ControlBody as ControlBodySchema } from './messages/bodies.js';
import { decodeBody, decodeMessage } from './messages/decode.js';
import { PileControl } from './messages/wire.js';

/** MAC(CK, "evauth/v1/control", pid, utf8(body)) */
export function deriveControlMac(controlKey: Uint8Array, pid: string, bodyText: string): Uint8Array {
  return mac(controlKey, LABEL.control, pid, bodyText);
}

export function buildPileControl(controlKey: Uint8Array, pid: string, body: ControlBody): PileControl {
  const bodyText = JSON.stringify({
    seq: body.seq,
    issuedAt: body.issuedAt,
    keyOffset: { current: body.keyOffset.current, accept: body.keyOffset.accept },
    revoked: body.revoked.map((r) => ({ tid: r.tid, exp: r.exp })),
    // revision 2; left out when there is none, so a revision-1 body is byte for byte what it was
    ...(body.revokedVehicles?.length
      ? { revokedVehicles: body.revokedVehicles.map((r) => ({ vid: r.vid, until: r.until })) }
      : {}),
  });
  return {
    v: 1,
    type: 'pile.control',
    body: bodyText,
    mac: b64uEncode(deriveControlMac(controlKey, pid, bodyText)),
  };
}

export type ControlRejection = 'MALFORMED' | 'UNSUPPORTED_VERSION' | 'BAD_MAC' | 'STALE_SEQ';

/** Serializable form a gateway persists so that a restarted pile keeps its revocations and offsets. */
export interface PileControlSnapshot {
  seq: number;
  current: number;
  accept: number[];
  revoked: { tid: string; exp: number }[];
  /** revision 2; absent in snapshots written before it */
  revokedVehicles?: { vid: string; until: number }[];
}

/**
 * What a pile has applied from the cloud. Starts from its keystore offset and accepts a body only with a
 * valid MAC and a seq above the last applied one.
 */
export class PileControlState {
  seq: number;
  current: number;
  private accepted: Set<number>;
  private revoked: Map<string, number>;
  /** vid → until: every ticket of the vehicle is refused up to that second */
  private revokedVehicles: Map<string, number>;

  constructor(initial: PileControlSnapshot) {
    this.seq = initial.seq;
    this.current = initial.current;
    this.accepted = new Set(initial.accept);
    this.revoked = new Map(initial.revoked.map((r) => [r.tid, r.exp]));
    this.revokedVehicles = new Map((initial.revokedVehicles ?? []).map((r) => [r.vid, r.until]));
  }

  static fromKeyOffset(keyOffset: number): PileControlState {
    return new PileControlState({ seq: -1, current: keyOffset, accept: [keyOffset], revoked: [] });
  }

  acceptsOffset(off: number): boolean {
    return this.accepted.has(off);
  }

  get acceptedOffsets(): number[] {
    return [...this.accepted];
  }

  /** Whether the ticket is revoked, by its tid or (revision 2) by its vehicle. */
  isRevoked(ticket: { tid: string; vid: string }, nowSeconds: number): boolean {
    return this.isTicketRevoked(ticket.tid, nowSeconds) || this.isVehicleRevoked(ticket.vid, nowSeconds);
  }

  private isTicketRevoked(tid: string, nowSeconds: number): boolean {
    const exp = this.revoked.get(tid);
    if (exp === undefined) return false;
    // A revoked ticket past exp + skew is refused as expired anyway; forget it.
    if (nowSeconds > exp + CLOCK_SKEW_SECONDS) {
      this.revoked.delete(tid);
      return false;
    }
    return true;
  }

  private isVehicleRevoked(vid: string, nowSeconds: number): boolean {
    const until = this.revokedVehicles.get(vid);
    if (until === undefined) return false;
    // `until` already holds the skew (the last expiry of the vehicle's tickets + 300): past it, forget it.
    if (nowSeconds > until) {
      this.revokedVehicles.delete(vid);
      return false;
    }
    return true;
  }

  get revokedCount(): number {
    return this.revoked.size;
  }

  get revokedVehicleCount(): number {
    return this.revokedVehicles.size;
  }

  /** Verifies and applies a pile.control payload; returns the applied body. */
  apply(
    controlKey: Uint8Array,
    pid: string,
    payload: Uint8Array | string,
    nowSeconds: number,
  ): Result<ControlBody, ControlRejection> {
    // Only the envelope is parsed before the mac: one JSON.parse of at most 256 KiB (about a millisecond).
    const message = decodeMessage(PileControl, payload, MAX_CONTROL_PAYLOAD_BYTES);
    if (!message.ok) return message;
    const expected = deriveControlMac(controlKey, pid, message.value.body);
    if (!verifyMac(expected, tryB64uDecode(message.value.mac, 32))) {
      return fail('BAD_MAC', 'pile.control MAC does not verify with this pile control key');
    }
    const body = decodeBody(ControlBodySchema, message.value.body, MAX_CONTROL_PAYLOAD_BYTES);
    if (!body.ok) return fail('MALFORMED', `pile.control body: ${body.message}`);
    if (body.value.seq <= this.seq) {
      return fail('STALE_SEQ', `pile.control seq ${body.value.seq} is not above ${this.seq}`);
    }
    this.seq = body.value.seq;
    this.current = body.value.keyOffset.current;
    this.accepted = new Set([...body.value.keyOffset.accept, body.value.keyOffset.current]);
    this.revoked = new Map();
    for (const r of body.value.revoked) {
      if (nowSeconds <= r.exp + CLOCK_SKEW_SECONDS) this.revoked.set(r.tid, r.exp);
    }
    this.revokedVehicles = new Map();
    for (const r of body.value.revokedVehicles ?? []) {
      if (nowSeconds <= r.until) this.revokedVehicles.set(r.vid, r.until);
    }
    return ok(body.value);
  }

  snapshot(): PileControlSnapshot {
    return {
      seq: this.seq,
      current: this.current,
      accept: [...this.accepted],
      revoked: [...this.revoked].map(([tid, exp]) => ({ tid, exp })),
      revokedVehicles: [...this.revokedVehicles].map(([vid, until]) => ({ vid, until })),
    };
  }
}
