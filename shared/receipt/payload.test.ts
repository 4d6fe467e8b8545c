import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildReceiptOcmfPayload, MAX_REGISTER_WH, type ReceiptOcmfInput, whToKWh } from './payload.js';

const input: ReceiptOcmfInput = {
  pid: 'P1',
  connector: 2,
  tid: 'rXTEEY0c2cgx9M9dIP57bQ',
  gi: 'evauth-gateway',
  pg: 3,
  startedAt: 1767225640,
  endedAt: 1767229240,
  startWh: 5,
  endWh: 1234,
};

/** n Wh as a decimal kWh text with integer arithmetic only: 100017 → "100.017", 120000 → "120". */
function decimalKWh(wh: number): string {
  const whole = BigInt(wh) / 1000n;
  const fraction = (BigInt(wh) % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

describe('buildReceiptOcmfPayload', () => {
  it('writes the §8a fields in order, with the connector as charge point and meter, GV left out', () => {
    const { text, payload } = buildReceiptOcmfPayload(input);
    expect(text).toBe(
      '{"FV":"1.0","GI":"evauth-gateway","GS":"P1","PG":"T3","MS":"P1*2","IS":true,"IT":"CENTRAL",' +
        '"ID":"rXTEEY0c2cgx9M9dIP57bQ","CI":"P1*2","RD":[' +
        '{"TM":"2026-01-01T00:00:40,000+0000 S","TX":"B","RV":0.005,"RI":"1-b:1.8.0","RU":"kWh","ST":"G"},' +
        '{"TM":"2026-01-01T01:00:40,000+0000 S","TX":"E","RV":1.234,"RI":"1-b:1.8.0","RU":"kWh","ST":"G"}]}',
    );
    expect(payload.RD[1].RV - payload.RD[0].RV).toBeCloseTo(1.229, 9);
  });

  it("takes the meter's serial, the pile's time zone and its clock state where given", () => {
    const { payload } = buildReceiptOcmfPayload({
      ...input,
      meterSerial: 'EEM-350 0001',
      tzOffset: 60,
      timeStatus: 'I',
      gv: '1.2.0',
    });
    expect(payload).toMatchObject({ MS: 'EEM-350 0001', CI: 'P1*2', GV: '1.2.0' });
    expect(payload.RD[0].TM).toBe('2026-01-01T01:00:40,000+0100 I');
  });

  it('writes every register below 10^15 Wh as its exact decimal in kWh', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_REGISTER_WH }), (wh) => {
        const text = JSON.stringify(whToKWh(wh));
        expect(text).toBe(decimalKWh(wh));
        expect(Math.round(JSON.parse(text) * 1000)).toBe(wh);
      }),
      { numRuns: 2000 },
    );
    expect(JSON.stringify(whToKWh(100017))).toBe('100.017');
    expect(JSON.stringify(whToKWh(120000))).toBe('120');
  });

  it('throws RangeError naming the field for input the pile should never have', () => {
    const cases: [Partial<ReceiptOcmfInput>, RegExp][] = [
      [{ pid: 'P 1' }, /pid/],
      [{ connector: 0 }, /connector/],
      [{ tid: 'short' }, /tid/],
      [{ gi: 'evauth|x' }, /gi: must be 1-64 characters without "\|"/],
      [{ meterSerial: '' }, /meterSerial/],
      [{ pg: -1 }, /pg/],
      [{ startWh: 10, endWh: 9 }, /endWh is below startWh/],
      [{ endedAt: input.startedAt - 1 }, /endedAt is before startedAt/],
      [{ endWh: MAX_REGISTER_WH + 1 }, /endWh/],
      [{ tzOffset: 24 * 60 }, /offset/],
    ];
    for (const [change, message] of cases) {
      expect(() => buildReceiptOcmfPayload({ ...input, ...change }), String(message)).toThrow(message);
    }
  });
});
