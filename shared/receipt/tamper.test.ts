/** Property: a record with any byte of its payload or of its signature changed is refused. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleOcmf, bytesToHex, hexToBytes, parseOcmf, verifyOcmf } from '../index.js';
import { receiptVectors } from './vectors.test-support.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // not fatal: a broken UTF-8 sequence reads as U+FFFD, a change all the same

describe('tampering (fast-check)', () => {
  for (const vector of receiptVectors().slice(0, 2)) {
    const record = parseOcmf(vector.ocmf);
    if (!record.ok) throw new Error(record.message);
    const { payloadText, signatureDer, algorithm } = record.value;
    const payloadBytes = encoder.encode(payloadText);

    it(`${vector.name}: any changed payload byte is refused`, () => {
      fc.assert(
        fc.property(fc.nat(payloadBytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const changed = payloadBytes.slice();
          changed[at]! ^= flip;
          const text = vector.ocmf.replace(payloadText, decoder.decode(changed));
          expect(verifyOcmf(text, vector.signKey).ok).toBe(false);
        }),
        { numRuns: 150 },
      );
    });

    it(`${vector.name}: any changed signature byte is refused`, () => {
      fc.assert(
        fc.property(fc.nat(signatureDer.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
          const changed = signatureDer.slice();
          changed[at]! ^= flip;
          const text = assembleOcmf(payloadText, changed, algorithm.name);
          expect(text).not.toBe(vector.ocmf);
          expect(verifyOcmf(text, vector.signKey).ok).toBe(false);
        }),
        { numRuns: 150 },
      );
      // The same bytes written in capitals are the same signature: still valid.
      const upper = vector.ocmf.replace(bytesToHex(signatureDer), bytesToHex(signatureDer).toUpperCase());
      expect(hexToBytes(bytesToHex(signatureDer).toUpperCase())).toEqual(signatureDer);
      expect(verifyOcmf(upper, vector.signKey).ok).toBe(true);
    });
  }
});
