/** The pile's signing side of a charging session (PROTOCOL §8). */
import { b64uDecode, b64uEncode, tryB64uDecode } from '../crypto/bytes.js';
import { MacKey, verifyMac } from '../crypto/mac.js';
import { fail, ok, type Result } from '../errors.js';
import type { MeterBody, ReceiptBody } from '../messages/bodies.js';
import type { SessionEnd, SessionMeter, SessionStop } from '../messages/wire.js';
import { deriveMeterMac, deriveReceiptMac, deriveStopMac } from './macs.js';

export interface PileSessionState {
  sid: string;
  sk: Uint8Array;
  /** last meter seq sent (0 before the first) */
  meterSeq: number;
  /** last stop seq accepted (0 before the first) */
  stopSeq: number;
}

export class PileSession {
  readonly sid: string;
  private readonly sidBytes: Uint8Array;
  /** MACs every reading, stop and the receipt */
  private readonly sk: MacKey;
  meterSeq: number;
  stopSeq: number;

  constructor(state: PileSessionState) {
    this.sid = state.sid;
    this.sidBytes = b64uDecode(state.sid);
    this.sk = new MacKey(state.sk);
    this.meterSeq = state.meterSeq;
    this.stopSeq = state.stopSeq;
  }

  /** Signs the next meter reading; seq increases by one each time. */
  signMeter(reading: MeterBody): SessionMeter {
    const seq = this.meterSeq + 1;
    const body = JSON.stringify({ ts: reading.ts, wh: reading.wh, w: reading.w, state: reading.state });
    this.meterSeq = seq;
    return {
      v: 1,
      type: 'session.meter',
      sid: this.sid,
      seq,
      body,
      mac: b64uEncode(deriveMeterMac(this.sk, this.sidBytes, seq, body)),
    };
  }

  /** Checks a session.stop: right session, valid MAC, seq above the last accepted. */
  verifyStop(stop: SessionStop): Result<number, 'BAD_MAC' | 'REPLAY' | 'WRONG_SESSION'> {
    if (stop.sid !== this.sid) return fail('WRONG_SESSION', 'stop for another session');
    if (!verifyMac(deriveStopMac(this.sk, this.sidBytes, stop.seq), tryB64uDecode(stop.mac, 32))) {
      return fail('BAD_MAC', 'session.stop MAC does not verify');
    }
    if (stop.seq <= this.stopSeq) return fail('REPLAY', `stop seq ${stop.seq} is not above ${this.stopSeq}`);
    this.stopSeq = stop.seq;
    return ok(stop.seq);
  }

  /** Signs the receipt that closes the session. */
  signReceipt(receipt: ReceiptBody): SessionEnd {
    const body = JSON.stringify({
      reason: receipt.reason,
      wh: receipt.wh,
      cost: receipt.cost,
      currency: receipt.currency,
      startedAt: receipt.startedAt,
      endedAt: receipt.endedAt,
      // §8a: the pile's signed record, and the charger meter's own, inside the MACed body
      ...(receipt.ocmf !== undefined ? { ocmf: receipt.ocmf } : {}),
      ...(receipt.meterOcmf !== undefined ? { meterOcmf: receipt.meterOcmf } : {}),
      ...(receipt.meterKey !== undefined ? { meterKey: receipt.meterKey } : {}),
    });
    return {
      v: 1,
      type: 'session.end',
      sid: this.sid,
      body,
      mac: b64uEncode(deriveReceiptMac(this.sk, this.sidBytes, body)),
    };
  }
}
