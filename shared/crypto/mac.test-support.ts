/** The keyed-HMAC property every crypto backend must hold; run by shared/ (noble) and node/ (OpenSSL). */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type CryptoBackend, installCryptoBackend, nobleBackend } from './backend.js';
import { bytesToHex } from './bytes.js';
import { MacKey, mac } from './mac.js';

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

export function describeKeyedHmac(backend: CryptoBackend): void {
  afterEach(() => installCryptoBackend(nobleBackend));
  describe(`keyed HMAC on ${backend.name}`, () => {
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
}
