/**
 * MAC(key, label, f1..fn) = HMAC-SHA256(key, utf8(label) || 0x00 || LP(f1) || … || LP(fn))  (PROTOCOL §1).
 * LP(x) = u16be(len(x)) || x. The framing is written into one buffer to keep the hot path to one allocation.
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import { cryptoBackend } from './backend.js';
import { utf8ToBytes } from './bytes.js';
import type { Label } from './labels.js';

const labelPrefixes = new Map<string, Uint8Array>();

/** utf8(label) || 0x00, cached per label. */
export function labelPrefix(label: string): Uint8Array {
  let prefix = labelPrefixes.get(label);
  if (!prefix) {
    const l = utf8ToBytes(label);
    prefix = new Uint8Array(l.length + 1);
    prefix.set(l);
    labelPrefixes.set(label, prefix);
  }
  return prefix;
}

export type MacField = Uint8Array | string;

/** The exact bytes MAC() authenticates; exported for tests and for other implementations to compare. */
export function macInput(label: Label | string, fields: readonly MacField[]): Uint8Array {
  const prefix = labelPrefix(label);
  const encoded = fields.map((f) => (typeof f === 'string' ? utf8ToBytes(f) : f));
  let length = prefix.length;
  for (const f of encoded) {
    if (f.length > 0xffff) throw new RangeError(`MAC field longer than 65535 bytes (${f.length})`);
    length += 2 + f.length;
  }
  const out = new Uint8Array(length);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const f of encoded) {
    out[at] = f.length >>> 8;
    out[at + 1] = f.length & 0xff;
    out.set(f, at + 2);
    at += 2 + f.length;
  }
  return out;
}

export function mac(key: Uint8Array, label: Label | string, ...fields: MacField[]): Uint8Array {
  return cryptoBackend().hmacSha256(key, macInput(label, fields));
}

/** Constant-time comparison of a received MAC against the expected one. */
export function verifyMac(expected: Uint8Array, received: Uint8Array | undefined): boolean {
  if (!received || received.length !== expected.length) return false;
  return equalBytes(expected, received);
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && equalBytes(a, b);
}
