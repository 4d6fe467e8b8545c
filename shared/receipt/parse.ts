/**
 * The strict reader of `OCMF|<payload>|<signature>` (PROTOCOL §8a, OCMF 1.4 §"JSON based OCMF Format"): one
 * valibot schema for the payload and one for the signature; every refusal names the field.
 */
import * as v from 'valibot';
import { hexToBytes } from '../crypto/bytes.js';
import { MAX_PAYLOAD_BYTES } from '../ids.js';
import { type OcmfAlgorithm, ocmfAlgorithm, RECEIPT_SIGNATURE_ALGORITHM } from './algorithms.js';
import { type OcmfResult, ocmfFail } from './errors.js';
import { parseOcmfTime } from './time.js';

/** The field's form, or "is missing" when it is absent (valibot reports both through this message). */
const must = (form: string) => (issue: { received: string }) =>
  issue.received === 'undefined' ? 'is missing' : `must be ${form}`;

const text = (max: number) =>
  v.pipe(v.string(must('a string')), v.maxLength(max, `must be at most ${max} characters`));
const optionalText = (max: number) => v.optional(text(max));

/** Reading reasons (TX, table 7): B begin, C charging, X exception, E end or L R A P (ended how), S suspended, T tariff. */
export const OCMF_READING_REASONS = ['B', 'C', 'X', 'E', 'L', 'R', 'A', 'P', 'S', 'T'] as const;
/** The reasons that end a transaction. */
export const OCMF_END_REASONS: readonly string[] = ['E', 'L', 'R', 'A', 'P'];
/** Units of RU (table 20). */
export const OCMF_UNITS = ['kWh', 'Wh', 'mOhm', 'uOhm'] as const;

/** An object's own message also covers its missing keys: "is missing" there, "must be an object" for the rest. */
const anObject = must('an object');

export const OcmfReading = v.looseObject(
  {
    TM: v.pipe(
      v.string(must('a string')),
      v.check(
        (tm) => parseOcmfTime(tm) !== undefined,
        'must be an OCMF time "YYYY-MM-DDThh:mm:ss,fff+hhmm S": a real date and time, status U, I, S or R',
      ),
    ),
    TX: v.optional(v.picklist(OCMF_READING_REASONS, must('one of B C X E L R A P S T'))),
    RV: v.pipe(v.number(must('a number')), v.finite('must be a finite number')),
    RI: optionalText(64),
    RU: v.picklist(OCMF_UNITS, must('one of kWh Wh mOhm uOhm')),
    RT: optionalText(16),
    CL: v.optional(v.pipe(v.number(must('a number')), v.finite('must be a finite number'))),
    EF: optionalText(16),
    ST: text(4),
  },
  anObject,
);
export type OcmfReading = v.InferOutput<typeof OcmfReading>;

export const OcmfPayload = v.looseObject(
  {
    FV: optionalText(16),
    GI: optionalText(256),
    GS: optionalText(256),
    GV: optionalText(256),
    PG: v.pipe(
      v.string(must('a string')),
      v.regex(/^T(0|[1-9]\d{0,15})$/, 'must be "T<n>": T and a count without leading zeros'),
    ),
    MV: optionalText(256),
    MM: optionalText(256),
    MS: text(256),
    MF: optionalText(256),
    IS: v.boolean(must('true or false')),
    IL: optionalText(32),
    IF: v.optional(
      v.pipe(v.array(text(32), must('an array of strings')), v.maxLength(4, 'holds more than 4 flags')),
    ),
    IT: text(32),
    ID: optionalText(256),
    TT: optionalText(250),
    CF: optionalText(25),
    CT: optionalText(32),
    CI: optionalText(256),
    RD: v.pipe(
      v.array(OcmfReading, must('an array of readings')),
      v.minLength(1, 'holds no reading'),
      v.maxLength(64, 'holds more than 64 readings'),
    ),
  },
  anObject,
);
export type OcmfPayload = v.InferOutput<typeof OcmfPayload>;

/** The signature section; SA, SE and SM may be left out for their defaults (table 8). */
export const OcmfSignature = v.looseObject(
  {
    SA: optionalText(64),
    SE: v.optional(v.literal('hex', must('"hex"'))),
    SM: v.optional(v.literal('application/x-der', must('"application/x-der"'))),
    SD: v.pipe(
      v.string(must('a string')),
      v.regex(/^(?:[0-9a-fA-F]{2})+$/, 'must be hex: pairs of 0-9 a-f'),
      v.maxLength(512, 'must be at most 512 hex digits'),
    ),
  },
  anObject,
);
export type OcmfSignature = v.InferOutput<typeof OcmfSignature>;

export interface ParsedOcmf {
  /** the payload section exactly as it stands between the two `|`: the signed bytes, as text */
  payloadText: string;
  payload: OcmfPayload;
  signature: OcmfSignature;
  /** what SA names (its default where SA is absent) */
  algorithm: OcmfAlgorithm;
  /** SD decoded: the DER-encoded ECDSA signature */
  signatureDer: Uint8Array;
}

/** `RD.1.RV` → `RD[1].RV` */
function fieldOf(path: readonly { key: unknown }[] | undefined, section: string): string {
  if (!path?.length) return section;
  return path.reduce<string>(
    (out, p) =>
      typeof p.key === 'number' ? `${out}[${p.key}]` : out ? `${out}.${String(p.key)}` : String(p.key),
    '',
  );
}

function parseSection<S extends v.GenericSchema>(
  schema: S,
  json: string,
  section: 'payload' | 'signature',
): OcmfResult<v.InferOutput<S>> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return ocmfFail('MALFORMED', section, 'is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return ocmfFail('MALFORMED', section, 'is not a JSON object');
  const parsed = v.safeParse(schema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    return ocmfFail('MALFORMED', fieldOf(issue.path, section), issue.message);
  }
  return { ok: true, value: parsed.output };
}

/**
 * Reads an OCMF text without checking its signature: the three sections, the payload's and the signature's
 * fields, the algorithm. Never throws.
 */
export function parseOcmf(ocmf: string): OcmfResult<ParsedOcmf> {
  if (typeof ocmf !== 'string') return ocmfFail('MALFORMED', 'OCMF', 'is not text');
  // UTF-8 is at most 3 bytes per UTF-16 unit; it rides inside a message of at most 8 KiB (PROTOCOL §1).
  if (ocmf.length * 3 > MAX_PAYLOAD_BYTES && new TextEncoder().encode(ocmf).length > MAX_PAYLOAD_BYTES)
    return ocmfFail('MALFORMED', 'OCMF', `is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  const sections = ocmf.split('|');
  if (sections.length !== 3)
    return ocmfFail('MALFORMED', 'OCMF', `must be OCMF|<payload>|<signature> (${sections.length} sections)`);
  const [header, payloadText, signatureText] = sections as [string, string, string];
  if (header !== 'OCMF') return ocmfFail('MALFORMED', 'OCMF', 'does not start with the header "OCMF|"');
  const payload = parseSection(OcmfPayload, payloadText, 'payload');
  if (!payload.ok) return payload;
  const signature = parseSection(OcmfSignature, signatureText, 'signature');
  if (!signature.ok) return signature;
  const sa = signature.value.SA ?? RECEIPT_SIGNATURE_ALGORITHM;
  const algorithm = ocmfAlgorithm(sa);
  if (!algorithm)
    return ocmfFail(
      'UNSUPPORTED_ALGORITHM',
      'SA',
      `${JSON.stringify(sa)} is not an OCMF signature algorithm`,
    );
  return {
    ok: true,
    value: {
      payloadText,
      payload: payload.value,
      signature: signature.value,
      algorithm,
      signatureDer: hexToBytes(signature.value.SD),
    },
  };
}
