/** The vehicle's verifying side of a charging session (PROTOCOL §8). */
import { b64uEncode, tryB64uDecode } from '../crypto/bytes.js';
import { MacKey, verifyMac } from '../crypto/mac.js';
import { fail, ok, type Result } from '../errors.js';
import type { SessionKeys } from '../handshake/vehicle.js';
import { MeterBody, ReceiptBody } from '../messages/bodies.js';
import { decodeBody, parseJsonObject, validateMessage } from '../messages/decode.js';
import { type SessionEnd, type SessionMeter, VehicleSessionInbound } from '../messages/wire.js';
import { topics } from '../topics.js';
import { deriveMeterMac, deriveReceiptMac, deriveStopMac } from './macs.js';

export type MeterRejection =
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_MAC'
  | 'OUT_OF_ORDER'
  | 'ENERGY_DECREASED'
  | 'WRONG_SESSION';

export interface VerifiedMeter {
  seq: number;
  reading: MeterBody;
}

export type VehicleSessionEvent =
  | { kind: 'meter'; meter: VerifiedMeter }
  | { kind: 'meter-rejected'; code: MeterRejection; message: string }
  | { kind: 'ended'; receipt: ReceiptBody; receiptMessage: SessionEnd }
  | { kind: 'end-rejected'; code: MeterRejection; message: string }
  | { kind: 'ignored'; reason: string };

export class VehicleSession {
  readonly keys: SessionKeys;
  lastSeq = 0;
  lastWh = 0;
  private stopSeq = 0;
  ended?: ReceiptBody;
  /** SK, which MACs every reading, stop and the receipt */
  private readonly sk: MacKey;

  constructor(keys: SessionKeys) {
    this.keys = keys;
    this.sk = new MacKey(keys.sk);
  }

  get sid(): string {
    return this.keys.sid;
  }

  /** Handles a payload from vehicles/{vid}/session. Never throws. */
  receive(payload: Uint8Array | string): VehicleSessionEvent {
    const json = parseJsonObject(payload);
    if (!json.ok) return { kind: 'ignored', reason: json.message };
    const m = validateMessage(VehicleSessionInbound, json.value);
    if (!m.ok) return { kind: 'ignored', reason: m.message };
    if (m.value.sid !== this.keys.sid) return { kind: 'ignored', reason: 'message for another session' };
    if (m.value.type === 'session.meter') {
      const r = this.acceptMeter(m.value);
      return r.ok
        ? { kind: 'meter', meter: r.value }
        : { kind: 'meter-rejected', code: r.code, message: r.message };
    }
    const r = this.acceptEnd(m.value);
    return r.ok
      ? { kind: 'ended', receipt: r.value, receiptMessage: m.value }
      : { kind: 'end-rejected', code: r.code, message: r.message };
  }

  /** Accepts a reading only with a valid MAC, a seq above the last and energy not below the last. */
  acceptMeter(m: SessionMeter): Result<VerifiedMeter, MeterRejection> {
    if (m.sid !== this.keys.sid) return fail('WRONG_SESSION', 'meter for another session');
    const expected = deriveMeterMac(this.sk, this.keys.sidBytes, m.seq, m.body);
    if (!verifyMac(expected, tryB64uDecode(m.mac, 32))) return fail('BAD_MAC', 'meter MAC does not verify');
    const body = decodeBody(MeterBody, m.body);
    if (!body.ok) return fail('MALFORMED', body.message);
    if (m.seq <= this.lastSeq) return fail('OUT_OF_ORDER', `meter seq ${m.seq} is not above ${this.lastSeq}`);
    if (body.value.wh < this.lastWh)
      return fail('ENERGY_DECREASED', `energy ${body.value.wh} Wh below ${this.lastWh} Wh`);
    this.lastSeq = m.seq;
    this.lastWh = body.value.wh;
    return ok({ seq: m.seq, reading: body.value });
  }

  /** The session.stop to publish on piles/{pid}/auth. */
  stop(): { topic: string; payload: string } {
    this.stopSeq += 1;
    const mac = deriveStopMac(this.sk, this.keys.sidBytes, this.stopSeq);
    return {
      topic: topics.pileAuth(this.keys.pid),
      payload: JSON.stringify({
        v: 1,
        type: 'session.stop',
        sid: this.keys.sid,
        seq: this.stopSeq,
        mac: b64uEncode(mac),
      }),
    };
  }

  /** Accepts the signed receipt; its energy may not be below the last verified reading. */
  acceptEnd(m: SessionEnd): Result<ReceiptBody, MeterRejection> {
    if (m.sid !== this.keys.sid) return fail('WRONG_SESSION', 'receipt for another session');
    const expected = deriveReceiptMac(this.sk, this.keys.sidBytes, m.body);
    if (!verifyMac(expected, tryB64uDecode(m.mac, 32))) return fail('BAD_MAC', 'receipt MAC does not verify');
    const body = decodeBody(ReceiptBody, m.body);
    if (!body.ok) return fail('MALFORMED', body.message);
    if (body.value.wh < this.lastWh) return fail('ENERGY_DECREASED', 'receipt energy below the last reading');
    this.ended = body.value;
    return ok(body.value);
  }
}

/** Checks a stored receipt again later, e.g. from the head unit's history. */
export function verifyReceipt(sk: Uint8Array, sidBytes: Uint8Array, body: string, macText: string): boolean {
  return verifyMac(deriveReceiptMac(sk, sidBytes, body), tryB64uDecode(macText, 32));
}
