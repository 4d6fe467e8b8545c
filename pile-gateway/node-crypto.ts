/**
 * A CryptoBackend on OpenSSL (node:crypto), installed by Node processes on the hot path (the pile gateway, the
 * cloud). HMAC, SHA-256 and ChaCha20-Poly1305 run natively; XChaCha20's subkey step (HChaCha20, which OpenSSL
 * lacks) comes from @noble/ciphers. The shared vector tests run against this backend too.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import type { CryptoBackend } from '../shared/crypto/backend.js';
import type { RandomSource } from '../shared/ids.js';

/** "expand 32-byte k" as little-endian words, the ChaCha constant HChaCha20 starts from. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const TAG_BYTES = 16;
const ZERO_SALT = new Uint8Array(32);
const BLOCK_ONE = new Uint8Array([1]);

function words(bytes: Uint8Array): Uint32Array {
  // Copy so the view is 4-byte aligned whatever the input's offset.
  return new Uint32Array(bytes.slice().buffer);
}

/** XChaCha20-Poly1305 = ChaCha20-Poly1305(HChaCha20(key, nonce[0..16]), 0^4 || nonce[16..24]). */
function xchachaParameters(
  key: Uint8Array,
  nonce: Uint8Array,
): { subkey: Uint8Array; ietfNonce: Uint8Array } {
  if (key.length !== 32) throw new RangeError('XChaCha20-Poly1305 key must be 32 bytes');
  if (nonce.length !== 24) throw new RangeError('XChaCha20-Poly1305 nonce must be 24 bytes');
  const out = new Uint32Array(8);
  hchacha(SIGMA, words(key), words(nonce.subarray(0, 16)), out);
  const ietfNonce = new Uint8Array(12);
  ietfNonce.set(nonce.subarray(16, 24), 4);
  return { subkey: new Uint8Array(out.buffer), ietfNonce };
}

export const nodeCryptoBackend: CryptoBackend = {
  name: 'node:crypto',
  hmacSha256: (key, data) => createHmac('sha256', key).update(data).digest(),
  sha256: (data) => createHash('sha256').update(data).digest(),
  // RFC 5869 with L = 32 is one extract and one expand block; two OpenSSL HMACs beat hkdfSync's key-object setup.
  hkdfSha256(ikm, salt, info) {
    const prk = createHmac('sha256', salt.length > 0 ? salt : ZERO_SALT)
      .update(ikm)
      .digest();
    return createHmac('sha256', prk).update(info).update(BLOCK_ONE).digest();
  },
  xchachaSeal(key, nonce, plaintext, aad) {
    const { subkey, ietfNonce } = xchachaParameters(key, nonce);
    const cipher = createCipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const head = cipher.update(plaintext);
    cipher.final();
    const tag = cipher.getAuthTag();
    const out = new Uint8Array(head.length + TAG_BYTES);
    out.set(head);
    out.set(tag, head.length);
    return out;
  },
  xchachaOpen(key, nonce, ciphertext, aad) {
    if (ciphertext.length < TAG_BYTES) return undefined;
    const { subkey, ietfNonce } = xchachaParameters(key, nonce);
    const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES);
    const decipher = createDecipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad, { plaintextLength: body.length });
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
    const head = decipher.update(body);
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return new Uint8Array(head);
  },
};

/**
 * The OS CSPRNG, drawn 4 KiB at a time: one randomFillSync per 4 KiB instead of one per 16-byte value. Each pool
 * is fresh memory and every byte is handed out once.
 */
export function pooledSecureRandom(poolBytes = 4096): RandomSource {
  let pool = new Uint8Array(0);
  let at = 0;
  return (length) => {
    if (length > poolBytes) return randomFillSync(new Uint8Array(length));
    if (at + length > pool.length) {
      pool = randomFillSync(new Uint8Array(poolBytes));
      at = 0;
    }
    const out = pool.subarray(at, at + length);
    at += length;
    return out;
  };
}
