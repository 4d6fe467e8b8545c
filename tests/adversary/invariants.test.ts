/**
 * The harness's invariant checks can fail: each is fed evidence of the violation it names (a session nobody
 * proved, a receipt the pile did not sign, a foreign failed proof, a lockout, unbounded memory), and the documented
 * flaw is told apart from the rest only where the attacker could see the sid.
 */
import { describe, expect, it } from 'vitest';
import type { VerifiedReceipt } from '../../head-unit/vehicle/index.js';
import type { LogLine } from '../../node/child-process.js';
import type { SessionRecord } from '../../pile-gateway/store.js';
import { checkInvariants, type Evidence, type GenuineAttempt } from './invariants.js';

const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';
const receiptMessage = { v: 1, type: 'session.end', sid: SID, body: '{"wh":120}', mac: 'm' };

function record(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sid: SID,
    pid: 'P1',
    connector: 1,
    vid: 'B',
    tid: 't',
    sk: new Uint8Array(32),
    maxWh: null,
    maxW: 1,
    pricePerKWh: '0.39',
    currency: 'EUR',
    startedAt: 0,
    meterSeq: 2,
    stopSeq: 1,
    lastWh: 120,
    lastW: 0,
    lastMeterAt: 0,
    state: 'closed',
    reason: 'stopped',
    endedAt: 1,
    receipt: JSON.stringify(receiptMessage),
    chargerSigned: null,
    chargerBinding: null,
    ocmfReadings: null,
    ...over,
  };
}

function attempt(over: Partial<GenuineAttempt> = {}): GenuineAttempt {
  const receipt = {
    sid: SID,
    pid: 'P1',
    connector: 1,
    receipt: { reason: 'stopped', wh: 120, cost: '0.05', currency: 'EUR', startedAt: 0, endedAt: 1 },
    message: receiptMessage,
  } as VerifiedReceipt;
  return {
    vid: 'B',
    pid: 'P1',
    connector: 1,
    sid: SID,
    ok: true,
    proved: true,
    receipt,
    meters: [{ seq: 1, wh: 100 }],
    ...over,
  };
}

function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    attempts: [attempt()],
    records: [record()],
    logs: [],
    attackerVid: 'A',
    genuineVids: new Set(['B']),
    targeted: new Set(),
    seesPendingSids: false,
    memory: { pending: 0, replay: 2 },
    memoryBounds: { pending: 16, replay: 2 },
    ...over,
  };
}

const log = (code: string, sid: string, msg = 'x'): LogLine => ({
  level: 30,
  vid: 'B',
  pile: 'P1',
  sid,
  code,
  msg,
});

describe('the adversarial invariants', () => {
  it('hold for a genuine session with the pile’s own receipt', () => {
    expect(checkInvariants(evidence())).toEqual([]);
  });

  it('a session the vehicle never proved, or of a vehicle nobody knows, is charging without proof', () => {
    const unproved = checkInvariants(
      evidence({ attempts: [attempt({ proved: false, receipt: undefined })] }),
    );
    expect(unproved.map((v) => v.invariant)).toContain('charging-without-proof');
    const stranger = checkInvariants(evidence({ records: [record(), record({ sid: OTHER, vid: 'Z' })] }));
    expect(stranger.map((v) => v.invariant)).toEqual(['charging-without-proof']);
  });

  it('a receipt or reading the pile did not sign is caught', () => {
    const altered = checkInvariants(evidence({ records: [record({ lastWh: 90 })] }));
    expect(altered.map((v) => v.invariant)).toEqual(['receipt-not-signed-by-pile']);
    const reading = checkInvariants(evidence({ attempts: [attempt({ meters: [{ seq: 1, wh: 5000 }] })] }));
    expect(reading.map((v) => v.invariant)).toEqual(['receipt-not-signed-by-pile']);
  });

  it('an unattacked session that failed is a violation; an attacked one is not', () => {
    const failed = attempt({ ok: false, code: 'TIMEOUT', receipt: undefined, proved: false });
    expect(checkInvariants(evidence({ attempts: [failed], records: [] })).map((v) => v.invariant)).toEqual([
      'unattacked-session-failed',
    ]);
    expect(checkInvariants(evidence({ attempts: [failed], records: [], targeted: new Set([SID]) }))).toEqual(
      [],
    );
  });

  it('a failed proof or lockout charged to a genuine vehicle is the known flaw only where the sid was seen', () => {
    const logs = [log('BAD_PROOF', SID), log('RATE_LIMITED', OTHER, 'too many failed proofs; try later')];
    const lockedOut = attempt({
      sid: OTHER,
      ok: false,
      code: 'RATE_LIMITED',
      receipt: undefined,
      proved: false,
    });
    const seen = checkInvariants(
      evidence({ logs, attempts: [attempt(), lockedOut], targeted: new Set([SID]), seesPendingSids: true }),
    );
    expect(seen.map((v) => [v.invariant, v.knownFlaw])).toEqual([
      ['counted-against-another', true],
      ['locked-out-by-another', true],
      ['unattacked-session-failed', true],
    ]);
    // The same from an attacker who could not have seen the sid (a vehicle login): all three are real violations.
    const blind = checkInvariants(
      evidence({ logs, attempts: [attempt(), lockedOut], targeted: new Set([SID]) }),
    );
    expect(blind.map((v) => v.knownFlaw)).toEqual([false, false, false]);
    // Refused for too many requests a minute is never the documented flaw.
    const limited = checkInvariants(
      evidence({
        logs: [log('RATE_LIMITED', OTHER, 'too many requests from this vehicle')],
        seesPendingSids: true,
      }),
    );
    expect(limited.map((v) => [v.invariant, v.knownFlaw])).toEqual([['locked-out-by-another', false]]);
  });

  it('memory beyond what the real vehicles’ requests explain is unbounded', () => {
    const grown = checkInvariants(evidence({ memory: { pending: 0, replay: 3 } }));
    expect(grown.map((v) => v.invariant)).toEqual(['memory-unbounded']);
  });
});
