import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBody,
  decodeMessage,
  MAX_PAYLOAD_BYTES,
  MAX_RECEIPT_OCMF_CHARS,
  PileSession,
  ReceiptBody,
  SessionEnd,
  signKeyOf,
  signOcmfPayload,
  verifyOcmf,
} from '../index.js';
import {
  buildReceiptOcmfPayload,
  MAX_RECEIPT_INTERMEDIATE_READINGS,
  MAX_REGISTER_WH,
  type ReceiptOcmfInput,
  whToKWh,
} from './payload.js';

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
    expect(payload.RD[1]!.RV - payload.RD[0]!.RV).toBeCloseTo(1.229, 9);
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
    expect(payload.RD[0]!.TM).toBe('2026-01-01T01:00:40,000+0100 I');
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

  it('writes intermediate readings as TX T between B and E, by the same rules; none leaves the text as it was', () => {
    const plain = buildReceiptOcmfPayload(input).text;
    expect(buildReceiptOcmfPayload({ ...input, intermediate: [] }).text).toBe(plain);
    const { text, payload } = buildReceiptOcmfPayload({
      ...input,
      intermediate: [
        { at: input.startedAt + 900, wh: 305 },
        { at: input.startedAt + 1800, wh: 305 },
        { at: input.endedAt, wh: 1234 },
      ],
    });
    expect(payload.RD.map((r) => [r.TX, r.RV])).toEqual([
      ['B', 0.005],
      ['T', 0.305],
      ['T', 0.305],
      ['T', 1.234],
      ['E', 1.234],
    ]);
    expect(text).toContain(
      '{"TM":"2026-01-01T00:15:40,000+0000 S","TX":"T","RV":0.305,"RI":"1-b:1.8.0","RU":"kWh","ST":"G"},',
    );
    // only RD grows: everything before it is the two-reading text's
    expect(text.slice(0, text.indexOf('"RD"'))).toBe(plain.slice(0, plain.indexOf('"RD"')));
  });

  it('refuses intermediate readings out of the session, going back or too many, naming the reading', () => {
    const at = (k: number) => input.startedAt + k;
    const cases: [ReceiptOcmfInput['intermediate'], RegExp][] = [
      [[{ at: at(-1), wh: 10 }], /intermediate\[0\]\.at: .* is outside startedAt\.\.endedAt/],
      [[{ at: input.endedAt + 1, wh: 10 }], /intermediate\[0\]\.at: .* outside/],
      [
        [
          { at: at(20), wh: 10 },
          { at: at(10), wh: 20 },
        ],
        /intermediate\[1\]\.at: .* is before the reading before it/,
      ],
      [[{ at: at(1), wh: 4 }], /intermediate\[0\]\.wh: 4 is outside startWh\.\.endWh \(5\.\.1234\)/],
      [[{ at: at(1), wh: 1235 }], /intermediate\[0\]\.wh: 1235 is outside/],
      [
        [
          { at: at(1), wh: 20 },
          { at: at(2), wh: 19 },
        ],
        /intermediate\[1\]\.wh: 19 is below the reading before it/,
      ],
      [[{ at: at(1), wh: 1.5 }], /intermediate\.0\.wh/],
      [
        Array.from({ length: MAX_RECEIPT_INTERMEDIATE_READINGS + 1 }, () => ({ at: at(1), wh: 10 })),
        /intermediate: holds more than 16 readings/,
      ],
    ];
    for (const [intermediate, message] of cases) {
      expect(() => buildReceiptOcmfPayload({ ...input, intermediate }), String(message)).toThrow(
        new RegExp(`^OCMF receipt: ${message.source}`),
      );
    }
  });

  it('at the most intermediate readings and every field at its longest, the record and session.end still fit', () => {
    const signingKey = new Uint8Array(32).fill(7);
    const startedAt = 4_102_444_799 - 86_400;
    const endWh = MAX_REGISTER_WH - 1;
    // quotes and backslashes are the labels' worst case: JSON escapes each in the payload, the body and the message
    for (const label of ['g'.repeat(64), '"'.repeat(64), '\\'.repeat(64), '\u{1F50C}'.repeat(64)]) {
      const { text, payload } = buildReceiptOcmfPayload({
        pid: 'p'.repeat(64),
        connector: 0xffff,
        tid: 'rXTEEY0c2cgx9M9dIP57bQ',
        gi: label,
        gv: label,
        pg: Number.MAX_SAFE_INTEGER,
        startedAt,
        endedAt: startedAt + 86_400,
        startWh: endWh - 999_999,
        endWh,
        tzOffset: -570,
        intermediate: Array.from({ length: MAX_RECEIPT_INTERMEDIATE_READINGS }, (_, k) => ({
          at: startedAt + 2_700 * (k + 1),
          wh: endWh - 999_999 + 30_001 * (k + 1),
        })),
      });
      expect(payload.RD).toHaveLength(MAX_RECEIPT_INTERMEDIATE_READINGS + 2);
      const ocmf = signOcmfPayload(text, signingKey);
      expect(ocmf.length).toBeLessThanOrEqual(MAX_RECEIPT_OCMF_CHARS);
      const session = new PileSession({
        sid: 'AAAAAAAAAAAAAAAAAAAAAA',
        sk: new Uint8Array(32),
        meterSeq: 0,
        stopSeq: 0,
      });
      const message = JSON.stringify(
        session.signReceipt({
          reason: 'r'.repeat(64),
          wh: 999_999,
          cost: '999999999999.999999',
          currency: 'EUR',
          startedAt,
          endedAt: startedAt + 86_400,
          ocmf,
        }),
      );
      expect(new TextEncoder().encode(message).length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
      // what the vehicle does with it: the message, its body and the record all read and verify
      const end = decodeMessage(SessionEnd, message);
      if (!end.ok) throw new Error(end.message);
      const body = decodeBody(ReceiptBody, end.value.body);
      if (!body.ok) throw new Error(body.message);
      const verified = verifyOcmf(body.value.ocmf!, signKeyOf(signingKey));
      if (!verified.ok) throw new Error(verified.message);
      expect(verified.value.payload.RD.filter((r) => r.TX === 'T')).toHaveLength(
        MAX_RECEIPT_INTERMEDIATE_READINGS,
      );
    }
  });
});
