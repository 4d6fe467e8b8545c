/**
 * The primitives every derivation goes through, and base64url (the other cost on every message). The default is @noble (runs in the browser). A Node process may
 * install a faster backend once at start-up (the pile gateway uses OpenSSL through node:crypto); the vector
 * tests run against every backend, so all give the same bytes.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { type _HMAC, hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hash } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';

export interface CryptoBackend {
  readonly name: string;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HMAC-SHA256 under one key for many messages (AK, SK, TK), the key's pads worked out once */
  hmacSha256Keyed(key: Uint8Array): (data: Uint8Array) => Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) with 32 bytes of output */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array;
  /** XChaCha20-Poly1305: ciphertext || tag */
  xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** undefined when the tag does not verify */
  xchachaOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | undefined;
  /** base64url without padding (RFC 4648 §5) */
  b64uEncode(bytes: Uint8Array): string;
  /** strict: throws on padding, characters outside the alphabet, or a non-canonical final character */
  b64uDecode(text: string): Uint8Array;
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hmacSha256Keyed(key) {
    // The padded key's two compressions happen once; each MAC copies that state into one reused object
    // (noble's own HKDF expand does the same with _cloneInto): ~2.3 µs a MAC instead of ~5.
    const keyed: _HMAC<Hash<never>> = hmac.create(sha256, key);
    let scratch: _HMAC<Hash<never>> | undefined;
    return (data) => {
      const state = keyed._cloneInto(scratch);
      scratch = state;
      return state.update(data).digest();
    };
  },
  sha256: (data) => sha256(data),
  hkdfSha256: (ikm, salt, info) => hkdf(sha256, ikm, salt, info, 32),
  xchachaSeal: (key, nonce, plaintext, aad) => xchacha20poly1305(key, nonce, aad).encrypt(plaintext),
  xchachaOpen: (key, nonce, ciphertext, aad) => {
    try {
      return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
    } catch {
      return undefined;
    }
  },
  b64uEncode: (bytes) => base64urlnopad.encode(bytes),
  b64uDecode: (text) => base64urlnopad.decode(text),
};

let active: CryptoBackend = nobleBackend;

/** Replaces the backend for this process (call once at start-up, before any key is derived). */
export function installCryptoBackend(backend: CryptoBackend): void {
  active = backend;
}

export function cryptoBackend(): CryptoBackend {
  return active;
}
