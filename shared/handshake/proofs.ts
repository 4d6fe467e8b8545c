/** The handshake's derivations (PROTOCOL §6): proofs, the sealed offer, result and error MACs. */

import { aeadOpen, aeadSeal, type SealedBox } from '../crypto/aead.js';
import { cryptoBackend } from '../crypto/backend.js';
import { b64uEncode, tryB64uDecode, u32be } from '../crypto/bytes.js';
import { info } from '../crypto/kdf.js';
import { LABEL } from '../crypto/labels.js';
import { type MacKeyInput, mac } from '../crypto/mac.js';
import type { ErrorCode } from '../errors.js';

/**
 * Revision 2: auth.request.mac = MAC(AK, "evauth/v1/request", sid, r1, vid, pid, u32be(connector), decimal(ts)).
 * Only a holder of AK can make it, so the pile can tell a genuine request from a made-up one before it keeps
 * anything of it.
 */
export function deriveRequestMac(
  ak: MacKeyInput,
  sid: Uint8Array,
  r1: Uint8Array,
  vid: string,
  pid: string,
  connector: number,
  ts: number,
): Uint8Array {
  return mac(ak, LABEL.request, sid, r1, vid, pid, u32be(connector), decimalBytes(ts));
}

/**
 * decimal(ts): the integer's decimal digits as bytes. Written directly (they are ASCII): every request has its own
 * ts, so neither the MAC's string cache (kept for repeats) nor a UTF-8 encoder call per request is worth it.
 */
function decimalBytes(n: number): Uint8Array {
  const text = String(n);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Revision 2: auth.abort.mac = MAC(AK, "evauth/v1/abort", sid, reason) */
export function deriveAbortMac(ak: MacKeyInput, sid: Uint8Array, reason: string): Uint8Array {
  return mac(ak, LABEL.abort, sid, reason);
}

/** proof = MAC(AK, "evauth/v1/pile-proof", sid, r1, r3, pid, vid) */
export function derivePileProof(
  ak: MacKeyInput,
  sid: Uint8Array,
  r1: Uint8Array,
  r3: Uint8Array,
  pid: string,
  vid: string,
): Uint8Array {
  return mac(ak, LABEL.pileProof, sid, r1, r3, pid, vid);
}

/** proof = MAC(AK, "evauth/v1/vehicle-proof", sid, r1, r3, vid, pid, SHA-256(offer plaintext)) */
export function deriveVehicleProof(
  ak: MacKeyInput,
  sid: Uint8Array,
  r1: Uint8Array,
  r3: Uint8Array,
  vid: string,
  pid: string,
  offerPlaintext: Uint8Array,
): Uint8Array {
  return mac(ak, LABEL.vehicleProof, sid, r1, r3, vid, pid, cryptoBackend().sha256(offerPlaintext));
}

/** MAC(SK, "evauth/v1/result", sid, "ok") */
export function deriveResultMac(sk: MacKeyInput, sid: Uint8Array): Uint8Array {
  return mac(sk, LABEL.result, sid, 'ok');
}

/** MAC(SK, "evauth/v1/error", sid, code) */
export function deriveErrorMac(sk: MacKeyInput, sid: Uint8Array, code: ErrorCode): Uint8Array {
  return mac(sk, LABEL.error, sid, code);
}

/** aad = utf8("evauth/v1/offer") || 0x00 || sid */
export function offerAad(sid: Uint8Array): Uint8Array {
  return info(LABEL.offer, sid);
}

export function sealOffer(
  sk: Uint8Array,
  sid: Uint8Array,
  offerPlaintext: Uint8Array,
  nonce: Uint8Array,
): SealedBox {
  return { n: b64uEncode(nonce), c: b64uEncode(aeadSeal(sk, nonce, offerPlaintext, offerAad(sid))) };
}

export function openOffer(sk: Uint8Array, sid: Uint8Array, box: SealedBox): Uint8Array | undefined {
  const nonce = tryB64uDecode(box.n, 24);
  const ciphertext = tryB64uDecode(box.c);
  if (!nonce || !ciphertext) return undefined;
  return aeadOpen(sk, nonce, ciphertext, offerAad(sid));
}
