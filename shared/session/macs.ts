/** MACs of the charging session (PROTOCOL §8). */
import { u32be } from '../crypto/bytes.js';
import { LABEL } from '../crypto/labels.js';
import { type MacKeyInput, mac } from '../crypto/mac.js';

/** MAC(SK, "evauth/v1/meter", sid, u32be(seq), utf8(body)) */
export function deriveMeterMac(sk: MacKeyInput, sid: Uint8Array, seq: number, body: string): Uint8Array {
  return mac(sk, LABEL.meter, sid, u32be(seq), body);
}

/** MAC(SK, "evauth/v1/stop", sid, u32be(seq)) */
export function deriveStopMac(sk: MacKeyInput, sid: Uint8Array, seq: number): Uint8Array {
  return mac(sk, LABEL.stop, sid, u32be(seq));
}

/** MAC(SK, "evauth/v1/receipt", sid, utf8(body)) */
export function deriveReceiptMac(sk: MacKeyInput, sid: Uint8Array, body: string): Uint8Array {
  return mac(sk, LABEL.receipt, sid, body);
}
