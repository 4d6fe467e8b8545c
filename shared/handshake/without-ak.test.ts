/**
 * Property (PROTOCOL §6, revision 2): no sequence of messages made without AK changes what a genuine vehicle
 * experiences at a pile. The attacker may name the vehicle, carry its genuine ticket, make up tickets in its name,
 * use the vehicle's current sid in requests, aborts and stops (it cannot see it, but it does not matter), answer
 * the challenges of its own requests, and send garbage; the vehicle's outcomes, the bytes it receives and what the
 * pile holds against it are the same as without the attacker. (The attacker strikes once the vehicle holds its
 * challenge: before that, an unMACed auth.error under its sid could end its attempt, PROTOCOL §6's advisory
 * errors, which only sid secrecy covers; see docs/protocol.md, Security analysis.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { b64uEncode } from '../crypto/bytes.js';
import { handleAndCommit, issueTestCredential, seededRandom } from '../testing.js';
import { topics } from '../topics.js';
import { createWorld, PID, T0S, VID } from './fixture.test-support.js';
import type { PileOutput } from './pile.js';
import type { VehicleHandshake } from './vehicle.js';
import { buildAuthRequest } from './vehicle-messages.js';

type Attack =
  | {
      kind: 'request';
      vid: string;
      ticket: 'genuine' | 'made-up' | 'garbage';
      sid: 'current' | 'own';
      mac: 'none' | 'random' | 'made-up-key';
      connector: number;
      seed: string;
    }
  | { kind: 'response'; proof: Uint8Array }
  | { kind: 'abort'; sid: 'current' | 'own'; withMac: boolean; reason: string; bytes: Uint8Array }
  | { kind: 'stop'; sid: 'current' | 'own'; seq: number; bytes: Uint8Array }
  | { kind: 'garbage'; payload: string };

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const attack: fc.Arbitrary<Attack> = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    vid: fc.constantFrom(VID, 'VEH-A', 'VEH-0002'),
    ticket: fc.constantFrom('genuine' as const, 'made-up' as const, 'garbage' as const),
    sid: fc.constantFrom('current' as const, 'own' as const),
    mac: fc.constantFrom('none' as const, 'random' as const, 'made-up-key' as const),
    connector: fc.integer({ min: 1, max: 3 }),
    seed: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('response' as const), proof: bytes(32) }),
  fc.record({
    kind: fc.constant('abort' as const),
    sid: fc.constantFrom('current' as const, 'own' as const),
    withMac: fc.boolean(),
    reason: fc.constantFrom('OFFER_DECLINED', 'PILE_NOT_AUTHENTIC', 'TIMEOUT'),
    bytes: bytes(32),
  }),
  fc.record({
    kind: fc.constant('stop' as const),
    sid: fc.constantFrom('current' as const, 'own' as const),
    seq: fc.nat({ max: 10 }),
    bytes: bytes(32),
  }),
  fc.record({
    kind: fc.constant('garbage' as const),
    payload: fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
  }),
);

/** The driver's rounds at one pile: accept or decline the offer. Limits are low, so some rounds are refused. */
const ROUNDS = ['accept', 'decline', 'accept', 'accept', 'accept', 'accept'] as const;
const GAPS = ROUNDS.length * 2;

/** What the pile did with a vehicle's handshake. */
const HANDSHAKE_FATES = new Set<string>(['challenged', 'authorized', 'aborted', 'expired']);

function run(attacks: Attack[][] | undefined) {
  const world = createWorld({ seed: 'without-ak', limits: { requestsPerVehiclePerMinute: 5 } });
  const credential = world.credentialFor();
  const experience: unknown[] = [];
  let vehicle: VehicleHandshake | undefined;
  const bSids = new Set<string>();
  let ownSid = b64uEncode(seededRandom('attacker-sid')(16));

  // What the vehicle experiences: every event of its handshake that is not `ignored`, the bytes of every
  // authenticated message the pile sends it (challenge, result, MACed errors), and what the pile did with its
  // handshakes. An unMACed auth.error is advisory and only counts by what the handshake makes of it.
  const deliver = (outputs: PileOutput[]) => {
    for (const o of outputs) {
      if (o.kind === 'send' && o.topic === topics.vehicleAuth(VID)) {
        const m = JSON.parse(o.payload) as { sid?: string; type?: string; mac?: string };
        const advisory = m.type === 'auth.error' && m.mac === undefined;
        if (m.sid !== undefined && bSids.has(m.sid) && !advisory) experience.push(o.payload);
        for (const e of vehicle?.receive(o.payload) ?? []) {
          if (e.kind !== 'ignored') experience.push(e.kind === 'failed' ? `failed ${e.code}` : e.kind);
        }
      } else if (HANDSHAKE_FATES.has(o.kind) && 'sid' in o && o.sid !== undefined && bSids.has(o.sid)) {
        experience.push(o.kind);
      }
    }
  };

  const craft = (a: Attack): string => {
    const current = vehicle?.sid ?? ownSid;
    switch (a.kind) {
      case 'request': {
        // Its own randomness, never the world's: the vehicle's and the pile's draws stay the same.
        const r = seededRandom(`msg-${a.seed}`);
        const fake = issueTestCredential(
          r(32),
          { vid: a.vid, pid: PID, off: 0, iat: T0S, nbf: T0S, exp: T0S + 86_400 },
          r,
        );
        const request = buildAuthRequest(fake.ak, {
          sid: r(16),
          r1: r(16),
          vid: a.vid,
          pid: PID,
          connector: a.connector,
          ticket: fake.ticket,
          ts: world.clock.seconds,
        });
        const sid = a.sid === 'current' ? current : request.sid;
        if (a.sid === 'own') ownSid = sid;
        const ticket =
          a.ticket === 'genuine' ? credential.ticket : a.ticket === 'made-up' ? fake.ticket : 'AAAA';
        const mac = a.mac === 'none' ? undefined : a.mac === 'random' ? b64uEncode(r(32)) : request.mac;
        return JSON.stringify({ ...request, sid, ticket, mac });
      }
      case 'response':
        return JSON.stringify({ v: 1, type: 'auth.response', sid: ownSid, proof: b64uEncode(a.proof) });
      case 'abort':
        return JSON.stringify({
          v: 1,
          type: 'auth.abort',
          sid: a.sid === 'current' ? current : ownSid,
          reason: a.reason,
          ...(a.withMac ? { mac: b64uEncode(a.bytes) } : {}),
        });
      case 'stop':
        return JSON.stringify({
          v: 1,
          type: 'session.stop',
          sid: a.sid === 'current' ? current : ownSid,
          seq: a.seq,
          mac: b64uEncode(a.bytes),
        });
      case 'garbage':
        return a.payload;
    }
  };

  let gap = 0;
  const attackNow = () => {
    for (const a of attacks?.[gap] ?? []) deliver(handleAndCommit(world.pile, craft(a)));
    gap++;
  };

  for (const round of ROUNDS) {
    vehicle = world.vehicleFor(credential);
    bSids.add(vehicle.sid);
    deliver(handleAndCommit(world.pile, vehicle.start().payload));
    attackNow();
    if (vehicle.state === 'offered') {
      if (round === 'accept') deliver(handleAndCommit(world.pile, vehicle.confirmOffer().payload));
      else {
        for (const e of vehicle.declineOffer()) {
          if (e.kind === 'send') deliver(handleAndCommit(world.pile, e.message.payload));
        }
      }
    }
    attackNow();
    experience.push(`state ${vehicle.state}`);
    if (vehicle.state === 'authorized') world.pile.release(1);
    world.clock.advance(1_000);
    deliver(world.pile.tick());
  }
  experience.push(world.pile.memoryStats(), world.pile.standingOf(VID));
  return { experience, counts: world.pile.counts() };
}

describe('messages without AK', () => {
  const baseline = run(undefined);

  it('the baseline is a real experience: authorised rounds, a declined one, a rate-limited one', () => {
    const states = baseline.experience.filter((e) => typeof e === 'string' && e.startsWith('state'));
    expect(states).toEqual([
      'state authorized',
      'state failed',
      'state authorized',
      'state authorized',
      'state authorized',
      'state failed',
    ]);
    expect(baseline.experience).toContain('failed RATE_LIMITED');
  });

  it('never change what the genuine vehicle experiences', () => {
    let refusedByAttack = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(attack, { maxLength: 5 }), { minLength: GAPS, maxLength: GAPS }),
        (attacks) => {
          const attacked = run(attacks);
          expect(attacked.experience).toEqual(baseline.experience);
          refusedByAttack +=
            attacked.counts.refused.BAD_REQUEST_MAC - baseline.counts.refused.BAD_REQUEST_MAC;
        },
      ),
      { numRuns: 150 },
    );
    // The attacks did reach the pile's checks (and were refused there), not only the shape check.
    expect(refusedByAttack).toBeGreaterThan(0);
  });
});
