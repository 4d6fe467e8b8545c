/**
 * MAC(key, label, f1..fn) = HMAC-SHA256(key, utf8(label) || 0x00 || LP(f1) || … || LP(fn))  (PROTOCOL §1).
 * LP(x) = u16be(len(x)) || x. The framing is written into one buffer to keep the hot path to one allocation.
 * A field of 65,535 bytes or more (only a pile.control body, which revision 2 lets reach 256 KiB) is
 * 0xFFFF || u32be(len(x)) || x: every shorter field, and so every MAC of revision 1, is framed as before.
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import { type CryptoBackend, cryptoBackend } from './backend.js';
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

/** A MAC key as bytes, or as a MacKey when it MACs more than once. */
export type MacKeyInput = Uint8Array | MacKey;

// The string fields of MACs are few and repeat (pid, vid, error codes, "ok"); encoding each anew costs ~1 µs.
// Bounded: vids in messages from anyone could otherwise grow it.
const fieldBytes = new Map<string, Uint8Array>();
const FIELD_CACHE_LIMIT = 1024;

/** How many encoded string fields are kept (for tests of its bound). */
export function macFieldCacheSize(): number {
  return fieldBytes.size;
}

function fieldToBytes(field: MacField): Uint8Array {
  if (typeof field !== 'string') return field;
  let bytes = fieldBytes.get(field);
  if (!bytes) {
    bytes = utf8ToBytes(field);
    if (fieldBytes.size >= FIELD_CACHE_LIMIT) fieldBytes.clear();
    if (field.length <= 64) fieldBytes.set(field, bytes);
  }
  return bytes;
}

/** The exact bytes MAC() authenticates; exported for tests and for other implementations to compare. */
export function macInput(label: Label | string, fields: readonly MacField[]): Uint8Array {
  const prefix = labelPrefix(label);
  const encoded = fields.map(fieldToBytes);
  let length = prefix.length;
  for (const f of encoded) length += lengthPrefixBytes(f.length) + f.length;
  const out = new Uint8Array(length);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const f of encoded) {
    if (f.length < LONG_FIELD) {
      out[at] = f.length >>> 8;
      out[at + 1] = f.length & 0xff;
      at += 2;
    } else {
      const view = new DataView(out.buffer, out.byteOffset + at, 6);
      view.setUint16(0, LONG_FIELD);
      view.setUint32(2, f.length);
      at += 6;
    }
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** u16be lengths up to 65,534; from 65,535 on the marker 0xFFFF and a u32be length */
const LONG_FIELD = 0xffff;

function lengthPrefixBytes(length: number): number {
  if (length > 0xffffffff) throw new RangeError(`MAC field longer than 2^32 - 1 bytes (${length})`);
  return length < LONG_FIELD ? 2 : 6;
}

/**
 * A key that MACs more than once (AK: the pile's proof and the vehicle's; SK: every meter reading; TK: every
 * ticket at its offset), with its keyed HMAC state worked out once per crypto backend. The bytes are never
 * changed in place.
 */
export class MacKey {
  private backend?: CryptoBackend;
  private keyed?: (data: Uint8Array) => Uint8Array;

  constructor(readonly bytes: Uint8Array) {}

  hmac(data: Uint8Array): Uint8Array {
    const backend = cryptoBackend();
    if (this.backend !== backend || !this.keyed) {
      this.keyed = backend.hmacSha256Keyed(this.bytes);
      this.backend = backend;
    }
    return this.keyed(data);
  }
}

const macKeys = new WeakMap<Uint8Array, MacKey>();

/** The MacKey of these key bytes, kept for as long as they are (a vehicle's AK across its handshakes). */
export function macKeyOf(bytes: Uint8Array): MacKey {
  let key = macKeys.get(bytes);
  if (!key) {
    key = new MacKey(bytes);
    macKeys.set(bytes, key);
  }
  return key;
}

export function mac(key: MacKeyInput, label: Label | string, ...fields: MacField[]): Uint8Array {
  const input = macInput(label, fields);
  return key instanceof MacKey ? key.hmac(input) : cryptoBackend().hmacSha256(key, input);
}

/** Constant-time comparison of a received MAC against the expected one. */
export function verifyMac(expected: Uint8Array, received: Uint8Array | undefined): boolean {
  if (!received || received.length !== expected.length) return false;
  return equalBytes(expected, received);
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && equalBytes(a, b);
}
