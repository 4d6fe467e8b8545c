/** The OpenSSL backend must give the same bytes as @noble for every primitive and every vector. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { installCryptoBackend, nobleBackend } from '../shared/crypto/backend.js';
import { bytesToHex } from '../shared/crypto/bytes.js';
import { MacKey } from '../shared/crypto/mac.js';
import { describeKeyedHmac } from '../shared/crypto/mac.test-support.js';
import { nodeCryptoBackend, pooledSecureRandom } from './crypto.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : 'undefined');

describe('node:crypto backend agrees with noble', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
  it('HMAC, SHA-256 and HKDF', () => {
    fc.assert(
      fc.property(bytes(0, 80), bytes(0, 200), bytes(0, 40), (key, data, info) => {
        expect(hex(nodeCryptoBackend.hmacSha256(key, data))).toBe(hex(nobleBackend.hmacSha256(key, data)));
        expect(hex(nodeCryptoBackend.sha256(data))).toBe(hex(nobleBackend.sha256(data)));
        expect(hex(nodeCryptoBackend.hkdfSha256(data, key, info))).toBe(
          hex(nobleBackend.hkdfSha256(data, key, info)),
        );
      }),
      { numRuns: 300 },
    );
  });
  it('XChaCha20-Poly1305 seal and open, and refusal of any changed byte', () => {
    fc.assert(
      fc.property(
        bytes(32, 32),
        bytes(24, 24),
        bytes(0, 300),
        bytes(0, 60),
        fc.nat(),
        (key, nonce, pt, aad, at) => {
          const sealed = nodeCryptoBackend.xchachaSeal(key, nonce, pt, aad);
          expect(hex(sealed)).toBe(hex(nobleBackend.xchachaSeal(key, nonce, pt, aad)));
          expect(hex(nodeCryptoBackend.xchachaOpen(key, nonce, sealed, aad))).toBe(hex(pt));
          const changed = sealed.slice();
          const i = at % changed.length;
          changed[i] = (changed[i] ?? 0) ^ 1;
          expect(nodeCryptoBackend.xchachaOpen(key, nonce, changed, aad)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('base64url', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
  const outcome = (f: () => Uint8Array) => {
    try {
      return hex(f());
    } catch {
      return 'refused';
    }
  };
  it('encodes like noble and decodes, refusing exactly what the strict decoder refuses', () => {
    fc.assert(
      fc.property(bytes(0, 120), (b) => {
        const text = nobleBackend.b64uEncode(b);
        expect(nodeCryptoBackend.b64uEncode(b)).toBe(text);
        expect(hex(nodeCryptoBackend.b64uDecode(text))).toBe(hex(b));
      }),
      { numRuns: 500 },
    );
    const texts = fc.oneof(
      fc.string({
        unit: fc.constantFrom(
          ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .'.split(''),
        ),
      }),
      fc.string(),
    );
    fc.assert(
      fc.property(texts, (text) => {
        expect(outcome(() => nodeCryptoBackend.b64uDecode(text))).toBe(
          outcome(() => nobleBackend.b64uDecode(text)),
        );
      }),
      { numRuns: 3000 },
    );
    for (const bad of ['QQ=', 'QR', 'Q', 'QUJD=', 'a b', 'QUJ+']) {
      expect(outcome(() => nodeCryptoBackend.b64uDecode(bad))).toBe('refused');
    }
  });
});

describe('pooledSecureRandom', () => {
  it('hands out each byte once and never repeats a 16-byte value', () => {
    const random = pooledSecureRandom(64);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(hex(random(16)));
    expect(seen.size).toBe(1000);
    expect(random(100).length).toBe(100);
    const a = random(16);
    const copy = hex(a);
    random(16);
    expect(hex(a)).toBe(copy); // later draws do not overwrite earlier ones
  });
});

// Every vector set again, with this backend installed before the suite derives anything.
installCryptoBackend(nodeCryptoBackend);
await import('../shared/vectors.test.js');

describeKeyedHmac(nodeCryptoBackend);

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
});
