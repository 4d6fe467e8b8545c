/** AEAD of PROTOCOL §1: XChaCha20-Poly1305 with a random 24-byte nonce. */
import { cryptoBackend } from './backend.js';
import { b64uEncode, tryB64uDecode } from './bytes.js';

export const AEAD_NONCE_BYTES = 24;

export interface SealedBox {
  /** b64u(nonce24) */
  n: string;
  /** b64u(ciphertext || tag) */
  c: string;
}

export function aeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  return cryptoBackend().xchachaSeal(key, nonce, plaintext, aad);
}

/** Returns undefined when the tag does not verify (wrong key, nonce, aad or a changed byte). */
export function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array | undefined {
  if (nonce.length !== AEAD_NONCE_BYTES || ciphertext.length < 16) return undefined;
  return cryptoBackend().xchachaOpen(key, nonce, ciphertext, aad);
}

export function sealBox(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): SealedBox {
  return { n: b64uEncode(nonce), c: b64uEncode(aeadSeal(key, nonce, plaintext, aad)) };
}

export function openBox(key: Uint8Array, box: SealedBox, aad: Uint8Array): Uint8Array | undefined {
  const nonce = tryB64uDecode(box.n, AEAD_NONCE_BYTES);
  const ciphertext = tryB64uDecode(box.c);
  if (!nonce || !ciphertext) return undefined;
  return aeadOpen(key, nonce, ciphertext, aad);
}
