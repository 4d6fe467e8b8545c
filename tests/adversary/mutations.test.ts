/**
 * The attacker's repertoire on its own: a seed fixes every choice (same knowledge, same seed → same messages), and
 * each set of rights only ever targets topics its logins may publish on (a refused publish would cost the attacker
 * its connection, not test the system).
 */
import { describe, expect, it } from 'vitest';
import { secureRandom, topics } from '../../shared/index.js';
import { issueTestCredential } from '../../shared/testing.js';
import { type AttackContext, type Injection, mayPublish, OPERATORS, raceRequest } from './mutations.js';
import { Seeded } from './seeded.js';

const nowS = 1_800_000_000;
const own = issueTestCredential(
  secureRandom(32),
  { vid: 'A', pid: 'P3', off: 0, iat: nowS, nbf: nowS, exp: nowS + 3600 },
  secureRandom,
);
const request = {
  v: 1,
  type: 'auth.request',
  sid: 'AAAAAAAAAAAAAAAAAAAAAA',
  vid: 'B',
  pid: 'P1',
  connector: 1,
  ticket: own.ticket,
  r1: 'BBBBBBBBBBBBBBBBBBBBBB',
  ts: nowS,
  mac: 'x',
};
const seen = [
  { topic: topics.pileAuth('P1'), text: JSON.stringify(request), message: request },
  {
    topic: topics.vehicleAuth('A'),
    text: '{"v":1,"type":"auth.challenge","sid":"CCCCCCCCCCCCCCCCCCCCCC","r3":"DDDDDDDDDDDDDDDDDDDDDD"}',
    message: { v: 1, type: 'auth.challenge', sid: 'CCCCCCCCCCCCCCCCCCCCCC', r3: 'DDDDDDDDDDDDDDDDDDDDDD' },
  },
];

function context(seed: number, reachesVehicles: boolean): AttackContext {
  return {
    rng: new Seeded(seed),
    piles: ['P1', 'P2', 'P3'],
    victims: ['B', 'C'],
    ownVid: 'A',
    ownCredential: own,
    reachesVehicles,
    seen,
    nowS,
  };
}

function campaign(seed: number, reachesVehicles: boolean, n = 300): Injection[] {
  const ctx = context(seed, reachesVehicles);
  const out: Injection[] = [];
  for (let i = 0; i < n; i++) {
    const injection = i % 10 === 0 ? raceRequest(ctx, seen[0]!) : ctx.rng.pick(OPERATORS)(ctx);
    if (injection) out.push(injection);
  }
  return out;
}

describe('the attacker’s repertoire', () => {
  it('is fixed by its seed', () => {
    expect(campaign(42, true)).toEqual(campaign(42, true));
    expect(campaign(42, true)).not.toEqual(campaign(43, true));
  });

  it('with a vehicle login targets only piles’ auth topics; on the network path vehicles’ topics too', () => {
    const vehicle = campaign(7, false).filter((i) => !i.op.startsWith('race:'));
    expect(vehicle.every((i) => i.topic.endsWith('/auth') && i.topic.includes('/piles/'))).toBe(true);
    const network = campaign(7, true);
    const ctx = context(7, true);
    expect(network.every((i) => mayPublish(ctx, i.topic))).toBe(true);
    expect(network.some((i) => i.topic.includes('/vehicles/'))).toBe(true);
  });

  it('uses every kind of operation', () => {
    const kinds = new Set(campaign(1, true, 600).map((i) => i.op.split(':')[0]));
    for (const kind of [
      'replay',
      'splice',
      'drop',
      'truncate',
      'swap',
      'other-sid',
      'forge',
      'garbage',
      'race',
    ])
      expect(kinds).toContain(kind);
  });
});
