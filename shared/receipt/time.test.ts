import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatOcmfTime, OCMF_TIME_STATUSES, parseOcmfTime } from './time.js';

const AT = Date.UTC(2026, 0, 1, 0, 0, 40);

describe('OCMF time (TM)', () => {
  it('writes local time with milliseconds, the offset as ±hhmm and the clock state', () => {
    expect(formatOcmfTime(AT)).toBe('2026-01-01T00:00:40,000+0000 S');
    expect(formatOcmfTime(AT + 7, { offsetMinutes: 120 })).toBe('2026-01-01T02:00:40,007+0200 S');
    expect(formatOcmfTime(AT + 123, { offsetMinutes: -330, status: 'U' })).toBe(
      '2025-12-31T18:30:40,123-0530 U',
    );
  });

  it('reads back what it writes, for any instant, offset and state', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1970, 0, 2), max: Date.UTC(9999, 11, 30) }),
        fc.integer({ min: -1439, max: 1439 }),
        fc.constantFrom(...OCMF_TIME_STATUSES),
        (epochMs, offsetMinutes, status) => {
          const text = formatOcmfTime(epochMs, { offsetMinutes, status });
          expect(parseOcmfTime(text)).toEqual({ epochMs, offsetMinutes, status });
        },
      ),
    );
  });

  it('reads -0000 as UTC', () => {
    expect(parseOcmfTime('2026-01-01T00:00:40,000-0000 S')).toEqual({
      epochMs: AT,
      offsetMinutes: 0,
      status: 'S',
    });
  });

  it('refuses text that is not exactly TM, or not a real date and time', () => {
    for (const text of [
      '2026-01-01T00:00:40,000+0000',
      '2026-01-01T00:00:40.000+0000 S',
      '2026-01-01T00:00:40,000+00:00 S',
      '2026-01-01T00:00:40,000Z S',
      '2026-1-01T00:00:40,000+0000 S',
      '2026-02-29T00:00:40,000+0000 S',
      '2026-13-01T00:00:40,000+0000 S',
      '2026-01-01T00:60:40,000+0000 S',
      '2026-01-01T00:00:60,000+0000 S',
      '2026-01-01T00:00:40,000+0060 S',
      '2026-01-01T00:00:40,000+0000 s',
      ' 2026-01-01T00:00:40,000+0000 S',
    ]) {
      expect(parseOcmfTime(text), text).toBeUndefined();
    }
    expect(parseOcmfTime('2028-02-29T00:00:40,000+0000 S')).toBeDefined();
  });

  it('throws RangeError for what TM cannot hold', () => {
    expect(() => formatOcmfTime(AT, { offsetMinutes: 24 * 60 })).toThrow(RangeError);
    expect(() => formatOcmfTime(AT, { offsetMinutes: 0.5 })).toThrow(RangeError);
    expect(() => formatOcmfTime(Date.UTC(10000, 0, 1))).toThrow(RangeError);
    expect(() => formatOcmfTime(0.5)).toThrow(RangeError);
  });
});
