import decodeQR from 'qr/decode.js';
import { describe, expect, it } from 'vitest';
import { receiptVectors } from '../../shared/receipt/vectors.test-support.js';
import { planQr, rasterQr } from './ocmf-qr.js';

describe('the QR code of an OCMF record', () => {
  it('draws every vector record so that a QR reader gets the exact text back', () => {
    for (const vector of receiptVectors()) {
      const plan = planQr(vector.ocmf, 360);
      if (!plan.ok) throw new Error(`${vector.name}: no QR code for ${plan.length} characters`);
      expect(plan.sidePx).toBeLessThanOrEqual(360);
      expect(plan.modulePx).toBeGreaterThanOrEqual(2);
      const image = rasterQr(plan);
      expect(image.width).toBe(plan.sidePx);
      expect(decodeQR(image)).toBe(vector.ocmf);
    }
  });

  it('refuses a record beyond a QR code’s capacity instead of drawing a broken one', () => {
    const text = `OCMF|${'x'.repeat(3000)}|{}`;
    expect(planQr(text, 360)).toEqual({ ok: false, length: text.length });
  });

  it('refuses a code whose modules would be too small to scan in the space given', () => {
    const record = receiptVectors()[0]!.ocmf;
    expect(planQr(record, 120)).toEqual({ ok: false, length: record.length });
  });
});
