/**
 * PROTOCOL §8a against tests/vectors/evauth-v1.json: every receipt verifies under its signKey, every tampered one
 * does not, and our builder and noble signer reproduce each record byte for byte from the session's facts.
 */
import { describe, expect, it } from 'vitest';
import {
  buildReceiptOcmfPayload,
  checkReceiptOcmf,
  parseOcmf,
  signKeyOf,
  signOcmfPayload,
  verifyOcmf,
} from '../index.js';
import { payloadSection, receiptVectors } from './vectors.test-support.js';

const vectors = receiptVectors();

describe('receipt vectors (PROTOCOL §8a)', () => {
  it('has a receipt in every set', () => {
    expect(vectors.length).toBeGreaterThan(0);
  });

  for (const vector of vectors) {
    describe(vector.name, () => {
      it('signKey is the compressed public key of signingKey', () => {
        expect(signKeyOf(vector.signingKey)).toBe(vector.signKey);
      });

      it('ocmf verifies under signKey; tamperedOcmf does not', () => {
        const good = verifyOcmf(vector.ocmf, vector.signKey);
        expect(good.ok ? good.value.payload.ID : good.message).toBe(vector.tid);
        const bad = verifyOcmf(vector.tamperedOcmf, vector.signKey);
        expect(bad.ok ? 'verified' : [bad.code, bad.field]).toEqual(['BAD_SIGNATURE', 'SD']);
      });

      it('the builder reproduces the payload text byte for byte, and the noble signer the whole record', () => {
        // GI, GV, PG and the start register are the generator's choices: read from the vector; the rest comes
        // from the set's session (ticket, pile, receipt body).
        const fixed = parseOcmf(vector.ocmf);
        if (!fixed.ok) throw new Error(fixed.message);
        const { payload } = fixed.value;
        const startWh = Math.round(payload.RD[0]!.RV * 1000);
        const built = buildReceiptOcmfPayload({
          pid: vector.pid,
          connector: vector.connector,
          tid: vector.tid,
          gi: payload.GI!,
          gv: payload.GV!,
          pg: Number(payload.PG.slice(1)),
          startedAt: vector.startedAt,
          endedAt: vector.endedAt,
          startWh,
          endWh: startWh + vector.wh,
        });
        expect(built.text).toBe(payloadSection(vector.ocmf));
        expect(JSON.parse(built.text)).toEqual(built.payload);
        // RFC 6979: the same payload and key give the same signature, so the record is the vector's exactly.
        const signed = signOcmfPayload(built.text, vector.signingKey);
        expect(signed).toBe(vector.ocmf);
        expect(verifyOcmf(signed, vector.signKey).ok).toBe(true);
      });

      it("the vehicle's check accepts the receipt for its session and refuses the tampered one", () => {
        const session = {
          signKey: vector.signKey,
          tid: vector.tid,
          pid: vector.pid,
          connector: vector.connector,
          wh: vector.wh,
        };
        const accepted = checkReceiptOcmf(vector.ocmf, session);
        expect(accepted.ok ? accepted.value.energy.wh : accepted.message).toBe(vector.wh);
        const tampered = checkReceiptOcmf(vector.tamperedOcmf, session);
        expect(tampered.ok ? 'accepted' : tampered.code).toBe('BAD_SIGNATURE');
      });
    });
  }
});
