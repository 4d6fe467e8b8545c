/** A keyed MAC (MacKey) gives the same bytes as a one-shot HMAC on every backend, whatever the call order. */
import { afterEach, describe, expect, it } from 'vitest';
import { installCryptoBackend, nobleBackend } from './backend.js';
import { bytesToHex } from './bytes.js';
import { mac, macFieldCacheSize, macInput, macKeyOf } from './mac.js';
import { describeKeyedHmac } from './mac.test-support.js';

afterEach(() => installCryptoBackend(nobleBackend));

describeKeyedHmac(nobleBackend);

describe('MacKey', () => {
  it('is kept per key array by macKeyOf, not per equal bytes', () => {
    const a = new Uint8Array(32).fill(1);
    const b = new Uint8Array(32).fill(1);
    expect(macKeyOf(a)).toBe(macKeyOf(a));
    expect(macKeyOf(a)).not.toBe(macKeyOf(b));
  });
});

describe('string fields of MACs', () => {
  it('are encoded as UTF-8 whatever their number, and the kept encodings stay bounded', () => {
    const key = new Uint8Array(32).fill(3);
    for (let i = 0; i < 3000; i++) {
      const vid = `VEH-${i}-ü`;
      const input = macInput('evauth/v1/test', [vid]);
      const encoded = new TextEncoder().encode(vid);
      expect(input.subarray(input.length - encoded.length)).toEqual(encoded);
      expect(bytesToHex(mac(key, 'evauth/v1/test', vid))).toBe(
        bytesToHex(mac(key, 'evauth/v1/test', encoded)),
      );
      expect(macFieldCacheSize()).toBeLessThanOrEqual(1024);
    }
  });
});

describe('the length prefix of a field', () => {
  it('is u16be up to 65,534 bytes, and 0xFFFF || u32be from 65,535 on (a 256 KiB control body)', () => {
    const short = macInput('L', [new Uint8Array(65_534).fill(7)]);
    expect([...short.subarray(2, 4)]).toEqual([0xff, 0xfe]);
    expect(short.length).toBe(2 + 2 + 65_534);
    const long = macInput('L', [new Uint8Array(65_535).fill(7), 'x']);
    expect([...long.subarray(2, 8)]).toEqual([0xff, 0xff, 0x00, 0x00, 0xff, 0xff]);
    expect(long.length).toBe(2 + 6 + 65_535 + 2 + 1);
    const big = macInput('L', [new Uint8Array(256 * 1024)]);
    expect([...big.subarray(2, 8)]).toEqual([0xff, 0xff, 0x00, 0x04, 0x00, 0x00]);
  });
});
