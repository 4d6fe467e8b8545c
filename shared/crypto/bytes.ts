/** Byte encodings of PROTOCOL §1: base64url without padding, UTF-8, u32be, hex. */

import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { cryptoBackend } from './backend.js';

export { bytesToHex, concatBytes, hexToBytes, utf8ToBytes };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function b64uEncode(bytes: Uint8Array): string {
  return cryptoBackend().b64uEncode(bytes);
}

/** Strict base64url decode: throws on padding, non-alphabet characters or non-canonical tails. */
export function b64uDecode(text: string): Uint8Array {
  return cryptoBackend().b64uDecode(text);
}

/** Like b64uDecode but returns undefined instead of throwing; for message boundaries. */
export function tryB64uDecode(text: string, expectedLength?: number): Uint8Array | undefined {
  try {
    const bytes = cryptoBackend().b64uDecode(text);
    if (expectedLength !== undefined && bytes.length !== expectedLength) return undefined;
    return bytes;
  } catch {
    return undefined;
  }
}

/** Strict UTF-8 decode (invalid sequences throw). */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`u32be: expected an integer 0..2^32-1, got ${n}`);
  }
  // Four stores: a DataView per call costs several times more, and u32be is on the handshake's hot path.
  const out = new Uint8Array(4);
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  return out;
}
