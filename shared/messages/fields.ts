/** Field schemas shared by the messages of PROTOCOL §1-§8. */
import * as v from 'valibot';
import { ID_PATTERN } from '../ids.js';

const B64U = /^[A-Za-z0-9_-]*$/;

/** base64url text that decodes to exactly `bytes` bytes (length check only; decoding happens once, later). */
export function b64uOf(bytes: number) {
  const chars = Math.ceil((bytes * 4) / 3);
  return v.pipe(v.string(), v.length(chars), v.regex(B64U));
}

export const b64u = v.pipe(v.string(), v.maxLength(8192), v.regex(B64U));
export const b64u16 = b64uOf(16);
export const b64u24 = b64uOf(24);
export const b64u32 = b64uOf(32);
export const id = v.pipe(v.string(), v.regex(ID_PATTERN));
export const uint = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
export const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
export const unixTime = uint;
export const version = v.pipe(v.number(), v.integer());
export const decimalString = v.pipe(v.string(), v.regex(/^\d{1,12}(\.\d{1,6})?$/));
export const currency = v.pipe(v.string(), v.regex(/^[A-Z]{3}$/));
/** §8a a pile's public signing key: a SEC1 compressed P-256 point (33 bytes), base64url; checked as a point where used. */
export const signKey = b64uOf(33);
export const jsonText = v.pipe(v.string(), v.maxLength(4096));

export const sealedBox = v.object({ n: b64u24, c: b64u });
