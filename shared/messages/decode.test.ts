/**
 * The boundary's variant dispatch must accept and refuse exactly what valibot's own variant does, after the
 * version check that comes first (PROTOCOL §6 step 1).
 */
import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { decodeMessage, validateMessage } from './decode.js';
import { CredentialRequest, PileInbound, VehicleAuthInbound, VehicleSessionInbound } from './wire.js';

const b64u = (n: number) => 'A'.repeat(n);
const templates: Record<string, unknown>[] = [
  {
    v: 1,
    type: 'auth.request',
    sid: b64u(22),
    vid: 'V1',
    pid: 'P1',
    connector: 1,
    ticket: b64u(40),
    r1: b64u(22),
    ts: 1,
    mac: b64u(43),
  },
  { v: 1, type: 'auth.response', sid: b64u(22), proof: b64u(43) },
  { v: 1, type: 'auth.abort', sid: b64u(22), reason: 'PILE_NOT_AUTHENTIC', mac: b64u(43) },
  { v: 1, type: 'auth.abort', sid: b64u(22), reason: 'OFFER_DECLINED' },
  { v: 1, type: 'session.stop', sid: b64u(22), seq: 1, mac: b64u(43) },
  { v: 1, type: 'auth.result', sid: b64u(22), ok: true, mac: b64u(43) },
  { v: 2, type: 'auth.response', sid: b64u(22), proof: b64u(43) },
  { v: 1, type: 'no.such.type', sid: b64u(22) },
];

/** Templates with one field replaced by anything, plus arbitrary objects. */
const messages = fc.oneof(
  fc.tuple(fc.constantFrom(...templates), fc.nat(), fc.jsonValue()).map(([base, i, value]) => {
    const keys = Object.keys(base);
    return { ...base, [keys[i % keys.length]!]: value };
  }),
  fc.constantFrom(...templates),
  fc.object(),
);

describe('validateMessage on a variant schema', () => {
  for (const [name, schema] of [
    ['PileInbound', PileInbound],
    ['VehicleAuthInbound', VehicleAuthInbound],
    ['VehicleSessionInbound', VehicleSessionInbound],
  ] as const) {
    it(`${name}: same verdict and output as valibot's variant`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(messages, (message) => {
          const ours = validateMessage(schema, message);
          const theirs = v.safeParse(schema, message);
          const laterVersion = 'v' in message && message.v !== 1;
          expect(ours.ok).toBe(!laterVersion && theirs.success);
          if (ours.ok) {
            accepted++;
            expect(ours.value).toEqual(theirs.success ? theirs.output : undefined);
          } else {
            // A `v` other than 1 is named as such whatever the rest looks like; otherwise the shape decides.
            expect(ours.code).toBe(laterVersion ? 'UNSUPPORTED_VERSION' : 'MALFORMED');
          }
        }),
        { numRuns: 2000 },
      );
      // The property must have seen valid messages, not only refusals.
      if (name === 'PileInbound') expect(accepted).toBeGreaterThan(50);
    });
  }

  it('a later version is UNSUPPORTED_VERSION before its shape is looked at; no v at all is MALFORMED', () => {
    const later = validateMessage(PileInbound, { v: 2, type: 'auth.request', sid: 7, shiny: true });
    expect(later).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
    expect(validateMessage(PileInbound, { v: '1', type: 'auth.abort' })).toMatchObject({
      ok: false,
      code: 'UNSUPPORTED_VERSION',
    });
    // Whatever `v` is, naming it never calls into it (fast-check found `{"toString":{}}` once).
    for (const odd of [{ toString: {} }, [1], null, true, 'x'.repeat(5000)]) {
      const out = validateMessage(PileInbound, { v: odd, type: 'auth.abort' });
      expect(out).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
      if (!out.ok) expect(out.message.length).toBeLessThan(100);
    }
    // The same at every boundary: a credential.request of a later version is told so (the cloud answers
    // credential.denied UNSUPPORTED_VERSION where it can address the vehicle).
    const request = decodeMessage(
      CredentialRequest,
      JSON.stringify({ v: 2, type: 'credential.request', vid: 'V1' }),
    );
    expect(request).toMatchObject({ ok: false, code: 'UNSUPPORTED_VERSION' });
    const unversioned = { type: 'auth.abort', sid: b64u(22), reason: 'TIMEOUT' };
    expect(validateMessage(PileInbound, unversioned)).toMatchObject({ ok: false, code: 'MALFORMED' });
    expect(validateMessage(PileInbound, { ...unversioned, v: 1 }).ok).toBe(true);
  });

  it('an unknown type is refused with valibot’s own message', () => {
    const out = validateMessage(PileInbound, { v: 1, type: 'auth.nonsense', sid: b64u(22) });
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.code).toBe('MALFORMED');
      expect(out.message).toMatch(/type/);
    }
  });
});
