/** A keyed MAC (MacKey) gives the same bytes as a one-shot HMAC on every backend, whatever the call order. */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCryptoBackend } from '../../pile-gateway/node-crypto.js';
import { type CryptoBackend, installCryptoBackend, nobleBackend } from './backend.js';
import { bytesToHex } from './bytes.js';
import { MacKey, mac, macFieldCacheSize, macInput, macKeyOf } from './mac.js';

const backends: CryptoBackend[] = [nobleBackend, nodeCryptoBackend];
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

afterEach(() => installCryptoBackend(nobleBackend));

describe.each(backends)('keyed HMAC on $name', (backend) => {
  it('equals the one-shot HMAC for each of many messages, with two keys interleaved', () => {
    fc.assert(
      fc.property(
        bytes(0, 80),
        bytes(0, 80),
        fc.array(bytes(0, 300), { minLength: 1, maxLength: 6 }),
        (k1, k2, messages) => {
          const keyed1 = backend.hmacSha256Keyed(k1);
          const keyed2 = backend.hmacSha256Keyed(k2);
          for (const m of messages) {
            expect(bytesToHex(keyed1(m))).toBe(bytesToHex(nobleBackend.hmacSha256(k1, m)));
            expect(bytesToHex(keyed2(m))).toBe(bytesToHex(nobleBackend.hmacSha256(k2, m)));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a MacKey gives what the key bytes give, in mac()', () => {
    installCryptoBackend(backend);
    fc.assert(
      fc.property(bytes(32, 32), bytes(0, 64), fc.string({ maxLength: 40 }), (key, field, text) => {
        const k = new MacKey(key);
        for (let i = 0; i < 2; i++) {
          expect(bytesToHex(mac(k, 'evauth/v1/test', field, text))).toBe(
            bytesToHex(mac(key, 'evauth/v1/test', field, text)),
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('MacKey', () => {
  it('follows a change of crypto backend', () => {
    const key = new Uint8Array(32).fill(7);
    const data = new Uint8Array([1, 2, 3]);
    const expected = bytesToHex(nobleBackend.hmacSha256(key, data));
    const k = new MacKey(key);
    installCryptoBackend(nodeCryptoBackend);
    expect(bytesToHex(k.hmac(data))).toBe(expected);
    installCryptoBackend(nobleBackend);
    expect(bytesToHex(k.hmac(data))).toBe(expected);
  });

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
