/** Bad input for the OCMF reader and the vehicle's check: a typed error naming the field, never a throw. */
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  b64uEncode,
  checkReceiptOcmf,
  type OcmfFailure,
  type OcmfResult,
  parseOcmf,
  signOcmfPayload,
  verifyOcmf,
} from '../index.js';
import { payloadSection, receiptVectors } from './vectors.test-support.js';

const vector = receiptVectors()[1]!;
const session = {
  signKey: vector.signKey,
  tid: vector.tid,
  pid: vector.pid,
  connector: vector.connector,
  wh: vector.wh,
};
const basePayload = JSON.parse(payloadSection(vector.ocmf)) as Record<string, unknown> & {
  RD: Record<string, unknown>[];
};

/** The vector's payload changed by `change`, signed again: only the change can make it fail. */
function resigned(change: (payload: typeof basePayload) => void): string {
  const payload = structuredClone(basePayload);
  change(payload);
  return signOcmfPayload(JSON.stringify(payload), vector.signingKey);
}

/** The vector's record with its signature section changed by `change` (the payload, and its signature, kept). */
function withSignature(change: (signature: Record<string, unknown>) => void): string {
  const [header, payload, signature] = vector.ocmf.split('|') as [string, string, string];
  const section = JSON.parse(signature) as Record<string, unknown>;
  change(section);
  return `${header}|${payload}|${JSON.stringify(section)}`;
}

function refusal<T>(result: OcmfResult<T>): Pick<OcmfFailure, 'code' | 'field'> | 'accepted' {
  if (result.ok) return 'accepted';
  expect(result.message.startsWith(`${result.field}: `)).toBe(true);
  expect(result.message).not.toMatch(/\n\s+at /);
  return { code: result.code, field: result.field };
}

const malformed: [string, string, string][] = [
  ['empty text', '', 'OCMF'],
  ['two sections', `OCMF|${payloadSection(vector.ocmf)}`, 'OCMF'],
  ['four sections', `${vector.ocmf}|{}`, 'OCMF'],
  ['another header', vector.ocmf.replace(/^OCMF/, 'OCMX'), 'OCMF'],
  ['payload not JSON', vector.ocmf.replace(/\|\{"FV"/, '|{FV'), 'payload'],
  ['payload an array', withPayloadText('[1,2]'), 'payload'],
  [
    'larger than 8 KiB',
    resigned((p) => {
      p.GI = 'x'.repeat(200);
    }).padEnd(9000, ' '),
    'OCMF',
  ],
  [
    'PG of the fiscal context',
    resigned((p) => {
      p.PG = 'F17';
    }),
    'PG',
  ],
  [
    'PG with a leading zero',
    resigned((p) => {
      p.PG = 'T017';
    }),
    'PG',
  ],
  [
    'PG missing',
    resigned((p) => {
      delete p.PG;
    }),
    'PG',
  ],
  [
    'IS as text',
    resigned((p) => {
      p.IS = 'true';
    }),
    'IS',
  ],
  [
    'RD missing',
    resigned((p) => {
      delete (p as Record<string, unknown>).RD;
    }),
    'RD',
  ],
  [
    'RD empty',
    resigned((p) => {
      p.RD = [];
    }),
    'RD',
  ],
  [
    'RD not an array',
    resigned((p) => {
      (p as Record<string, unknown>).RD = { TX: 'B' };
    }),
    'RD',
  ],
  [
    'RV as text',
    resigned((p) => {
      p.RD[1]!.RV = '120.018';
    }),
    'RD[1].RV',
  ],
  [
    'RV missing',
    resigned((p) => {
      delete p.RD[0]!.RV;
    }),
    'RD[0].RV',
  ],
  [
    'RU unknown',
    resigned((p) => {
      p.RD[1]!.RU = 'MWh';
    }),
    'RD[1].RU',
  ],
  [
    'TM without milliseconds',
    resigned((p) => {
      p.RD[0]!.TM = '2026-01-01T00:00:40+0000 S';
    }),
    'RD[0].TM',
  ],
  [
    'TM on 30 February',
    resigned((p) => {
      p.RD[0]!.TM = '2026-02-30T00:00:40,000+0000 S';
    }),
    'RD[0].TM',
  ],
  [
    'TM at 24:00',
    resigned((p) => {
      p.RD[1]!.TM = '2026-01-01T24:00:00,000+0000 S';
    }),
    'RD[1].TM',
  ],
  [
    'TM with an unknown clock state',
    resigned((p) => {
      p.RD[1]!.TM = '2026-01-01T01:00:40,000+0000 Z';
    }),
    'RD[1].TM',
  ],
  [
    'TX unknown',
    resigned((p) => {
      p.RD[1]!.TX = 'Q';
    }),
    'RD[1].TX',
  ],
  [
    'SE base64',
    withSignature((s) => {
      s.SE = 'base64';
    }),
    'SE',
  ],
  [
    'SM not DER',
    withSignature((s) => {
      s.SM = 'application/json';
    }),
    'SM',
  ],
  [
    'SD not hex',
    withSignature((s) => {
      s.SD = 'zz';
    }),
    'SD',
  ],
  [
    'SD odd length',
    withSignature((s) => {
      s.SD = `${s.SD}0`;
    }),
    'SD',
  ],
  [
    'SD missing',
    withSignature((s) => {
      delete s.SD;
    }),
    'SD',
  ],
  ['signature not JSON', `${vector.ocmf.split('|').slice(0, 2).join('|')}|{SD}`, 'signature'],
];

function withPayloadText(text: string): string {
  const [header, , signature] = vector.ocmf.split('|');
  return `${header}|${text}|${signature}`;
}

describe('parseOcmf and verifyOcmf: malformed records', () => {
  for (const [what, ocmf, field] of malformed) {
    it(`${what} → MALFORMED, field ${field}`, () => {
      expect(refusal(parseOcmf(ocmf))).toEqual({ code: 'MALFORMED', field });
      expect(refusal(verifyOcmf(ocmf, vector.signKey))).toEqual({ code: 'MALFORMED', field });
    });
  }

  it('says "is missing" for a missing field and what it must be for a wrong one', () => {
    const missing = parseOcmf(
      resigned((p) => {
        delete p.RD[0]!.RV;
      }),
    );
    expect(missing.ok ? '' : missing.message).toBe('RD[0].RV: is missing');
    const wrong = parseOcmf(
      resigned((p) => {
        p.RD[1]!.RV = '120';
      }),
    );
    expect(wrong.ok ? '' : wrong.message).toBe('RD[1].RV: must be a number');
  });

  it('takes a record without SA, SE and SM as the defaults (secp256r1, hex, DER), as OCMF says', () => {
    const bare = withSignature((s) => {
      delete s.SA;
      delete s.SE;
      delete s.SM;
    });
    const verified = verifyOcmf(bare, vector.signKey);
    expect(verified.ok ? verified.value.algorithm.name : verified.message).toBe('ECDSA-secp256r1-SHA256');
  });
});

describe('algorithms and keys', () => {
  it('refuses an SA OCMF does not define, and one of another curve than the key', () => {
    const unknown = withSignature((s) => {
      s.SA = 'RSA-PSS-SHA256';
    });
    expect(refusal(parseOcmf(unknown))).toEqual({ code: 'UNSUPPORTED_ALGORITHM', field: 'SA' });
    const otherCurve = withSignature((s) => {
      s.SA = 'ECDSA-secp384r1-SHA256';
    });
    expect(parseOcmf(otherCurve).ok).toBe(true);
    expect(refusal(verifyOcmf(otherCurve, vector.signKey))).toEqual({
      code: 'UNSUPPORTED_ALGORITHM',
      field: 'SA',
    });
  });

  it('refuses a key that is not base64url, has the wrong length, or is not a point of P-256', () => {
    const point = p256.getPublicKey(vector.signingKey, false);
    const offCurve = point.slice();
    offCurve[64]! ^= 1;
    const beyondField = new Uint8Array(33).fill(0xff);
    beyondField[0] = 2;
    for (const key of ['not*base64url', b64uEncode(new Uint8Array(32)), b64uEncode(offCurve)]) {
      expect(refusal(verifyOcmf(vector.ocmf, key))).toEqual({ code: 'BAD_KEY', field: 'signKey' });
    }
    const notAPoint = verifyOcmf(vector.ocmf, beyondField);
    expect(notAPoint.ok ? '' : notAPoint.message).toBe('signKey: is not a point of P-256');
    // The uncompressed form of the right key verifies; another pile's key does not.
    expect(verifyOcmf(vector.ocmf, b64uEncode(point)).ok).toBe(true);
    const other = receiptVectors()[0]!.signKey;
    expect(refusal(verifyOcmf(vector.ocmf, other))).toEqual({ code: 'BAD_SIGNATURE', field: 'SD' });
  });

  it('takes only the compressed form in the vehicle check, as credentials carry it', () => {
    const uncompressed = b64uEncode(p256.getPublicKey(vector.signingKey, false));
    expect(refusal(checkReceiptOcmf(vector.ocmf, { ...session, signKey: uncompressed }))).toEqual({
      code: 'BAD_KEY',
      field: 'signKey',
    });
  });
});

describe('checkReceiptOcmf: the record against the session', () => {
  const refusals: [string, string, Partial<typeof session>, string, string][] = [
    ['another ticket', vector.ocmf, { tid: receiptVectors()[0]!.tid }, 'WRONG_IDENTIFICATION', 'ID'],
    ['another connector', vector.ocmf, { connector: vector.connector + 1 }, 'WRONG_CHARGE_POINT', 'CI'],
    ['another pile', vector.ocmf, { pid: 'PILE-9' }, 'WRONG_CHARGE_POINT', 'CI'],
    ['1 Wh more in the body', vector.ocmf, { wh: vector.wh + 1 }, 'ENERGY_MISMATCH', 'RD'],
    ['1 Wh less in the body', vector.ocmf, { wh: vector.wh - 1 }, 'ENERGY_MISMATCH', 'RD'],
    [
      'no end reading',
      resigned((p) => {
        p.RD.pop();
      }),
      {},
      'MALFORMED',
      'RD',
    ],
    [
      'no start reading',
      resigned((p) => {
        p.RD[0]!.TX = 'C';
      }),
      {},
      'MALFORMED',
      'RD',
    ],
    [
      'a tenth of a Wh',
      resigned((p) => {
        p.RD[1]!.RV = 120.0185;
      }),
      {},
      'MALFORMED',
      'RD[1].RV',
    ],
    [
      'end below start',
      resigned((p) => {
        p.RD[1]!.RV = 100;
      }),
      {},
      'MALFORMED',
      'RD[1].RV',
    ],
    [
      'end before start',
      resigned((p) => {
        p.RD[1]!.TM = '2025-12-31T23:00:00,000+0000 S';
      }),
      {},
      'MALFORMED',
      'RD[1].TM',
    ],
    ['the tampered vector', vector.tamperedOcmf, {}, 'BAD_SIGNATURE', 'SD'],
  ];
  for (const [what, ocmf, change, code, field] of refusals) {
    it(`${what} → ${code}, field ${field}`, () => {
      expect(refusal(checkReceiptOcmf(ocmf, { ...session, ...change }))).toEqual({ code, field });
    });
  }

  it('accepts the same energy written in Wh, and in kWh with trailing zeros', () => {
    const inWh = resigned((p) => {
      for (const r of p.RD) {
        r.RU = 'Wh';
        r.RV = Math.round((r.RV as number) * 1000);
      }
    });
    expect(refusal(checkReceiptOcmf(inWh, session))).toBe('accepted');
    const zeros = payloadSection(vector.ocmf).replace('"RV":120.018', '"RV":120.0180');
    expect(refusal(checkReceiptOcmf(signOcmfPayload(zeros, vector.signingKey), session))).toBe('accepted');
  });
});
