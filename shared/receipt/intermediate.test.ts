/**
 * Intermediate readings (TX T) in a receipt's record: the car and the CLI accept them where they rise between the
 * start and the end, and refuse a record signed correctly whose readings in between go back or leave the session.
 */
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  buildReceiptOcmfPayload,
  checkReceiptOcmf,
  type ReceiptOcmfInput,
  signKeyOf,
  signOcmfPayload,
} from '../index.js';

const signingKey = p256.utils.randomSecretKey();
const input: ReceiptOcmfInput = {
  pid: 'P1',
  connector: 2,
  tid: 'rXTEEY0c2cgx9M9dIP57bQ',
  gi: 'evauth-gateway',
  pg: 7,
  startedAt: 1767225600,
  endedAt: 1767229200,
  startWh: 0,
  endWh: 9000,
  intermediate: [
    { at: 1767226500, wh: 2000 },
    { at: 1767227400, wh: 4500 },
    { at: 1767228300, wh: 4500 },
  ],
};
const session = { signKey: signKeyOf(signingKey), tid: input.tid, pid: 'P1', connector: 2, wh: 9000 };

type Reading = { TM: string; TX: string; RV: number; RI: string; RU: string; ST: string };

/** The builder's record with its readings changed by `change`, signed correctly: only the change can fail it. */
function signedWith(change: (rd: Reading[]) => void): string {
  const payload = JSON.parse(buildReceiptOcmfPayload(input).text) as { RD: Reading[] };
  change(payload.RD);
  return signOcmfPayload(JSON.stringify(payload), signingKey);
}

function refusal(ocmf: string): string {
  const checked = checkReceiptOcmf(ocmf, session);
  return checked.ok ? 'accepted' : `${checked.code} ${checked.message}`;
}

describe('intermediate readings in the vehicle check', () => {
  it('accepts readings that rise (or stay) between B and E, and counts the energy from B to E', () => {
    const checked = checkReceiptOcmf(
      signedWith(() => {}),
      session,
    );
    if (!checked.ok) throw new Error(checked.message);
    expect(checked.value.record.payload.RD.map((r) => r.TX)).toEqual(['B', 'T', 'T', 'T', 'E']);
    expect(checked.value.energy).toMatchObject({ wh: 9000, begin: { index: 0 }, end: { index: 4 } });
  });

  it('accepts a T reading at the very start and the very end (equal time and register)', () => {
    const edges = signedWith((rd) => {
      rd[1]!.TM = rd[0]!.TM;
      rd[1]!.RV = rd[0]!.RV;
      rd[3]!.TM = rd[4]!.TM;
      rd[3]!.RV = rd[4]!.RV;
    });
    expect(refusal(edges)).toBe('accepted');
  });

  it('leaves readings of another register between them alone', () => {
    const other = signedWith((rd) => {
      rd.splice(2, 0, { ...rd[2]!, RI: '1-b:2.8.0', RV: 0.001, TM: '2025-01-01T00:00:00,000+0000 S' });
    });
    expect(refusal(other)).toBe('accepted');
  });

  const refused: [string, (rd: Reading[]) => void, string][] = [
    [
      'a T reading below the one before it',
      (rd) => {
        rd[3]!.RV = 3.999;
      },
      'MALFORMED RD[3].RV: is below the reading before it (RD[2])',
    ],
    [
      'a T reading below the start',
      (rd) => {
        rd[0]!.RV = 2.5;
      },
      'MALFORMED RD[1].RV: is outside the start and end readings',
    ],
    [
      'a T reading above the end',
      (rd) => {
        rd[3]!.RV = 9.001;
      },
      'MALFORMED RD[3].RV: is outside the start and end readings',
    ],
    [
      'a T reading earlier than the one before it',
      (rd) => {
        rd[2]!.TM = '2026-01-01T00:14:59,999+0000 S';
      },
      'MALFORMED RD[2].TM: is before the reading before it (RD[1])',
    ],
    [
      'a T reading before the start',
      (rd) => {
        rd[1]!.TM = '2025-12-31T23:59:59,000+0000 S';
      },
      'MALFORMED RD[1].TM: is before the reading before it (RD[0])',
    ],
    [
      'a T reading after the end',
      (rd) => {
        rd[3]!.TM = '2026-01-01T01:00:00,001+0000 S';
      },
      'MALFORMED RD[3].TM: is after the end reading',
    ],
    [
      'a T reading finer than a Wh',
      (rd) => {
        rd[2]!.RV = 4.5001;
      },
      'MALFORMED RD[2].RV: 4.5001 kWh is finer than whole Wh',
    ],
  ];
  for (const [what, change, expected] of refused) {
    it(`refuses ${what}, naming it`, () => {
      expect(refusal(signedWith(change))).toBe(expected);
    });
  }
});
