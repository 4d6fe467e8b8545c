/**
 * The commit point between the pile's state machine and its gateway: an authorised session's auth.result goes
 * out only through commit(sid), never for an abandoned one, and QoS-1 duplicates of the auth.response follow.
 */
import { describe, expect, it } from 'vitest';
import { topics } from '../topics.js';
import { createWorld, onlySent, sent } from './fixture.test-support.js';
import type { AuthorizedSession, PileOutput } from './pile.js';

/** A handshake up to the vehicle's auth.response, handled by the pile but not committed. */
function authorise(world: ReturnType<typeof createWorld>, connector = 1) {
  const vehicle = world.vehicleFor(world.credentialFor(), connector);
  vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
  const response = vehicle.confirmOffer().payload;
  const out = world.pile.handle(response);
  const authorized = out.find((o) => o.kind === 'authorized') as
    | { kind: 'authorized'; session: AuthorizedSession }
    | undefined;
  if (!authorized) throw new Error(`not authorised: ${JSON.stringify(out)}`);
  return { vehicle, response, out, session: authorized.session };
}

const kinds = (out: PileOutput[]) => out.map((o) => o.kind);

describe('the pile authorises, and the gateway commits or abandons', () => {
  it('sends nothing until the commit; the commit sends the auth.result the vehicle accepts', () => {
    const world = createWorld();
    const { vehicle, out, session } = authorise(world);
    expect(kinds(out)).toEqual(['authorized']);
    expect(world.pile.isOccupied(1)).toBe(true);
    expect(world.pile.memoryStats()).toMatchObject({ pending: 0, committing: 1, completed: 0 });

    const committed = world.pile.commit(session.sid);
    expect(committed).toHaveLength(1);
    expect(committed[0]).toMatchObject({ kind: 'send', topic: topics.vehicleAuth(session.vid) });
    const events = vehicle.receive(onlySent(committed));
    expect(events.map((e) => e.kind)).toContain('authorized');
    expect(world.pile.memoryStats()).toMatchObject({ committing: 0, completed: 1 });
    // The connector stays taken until the session ends.
    expect(world.pile.isOccupied(1)).toBe(true);
    // A second commit sends nothing more.
    expect(world.pile.commit(session.sid)).toEqual([]);
  });

  it('a duplicate auth.response while committing gets nothing; after the commit, the same result', () => {
    const world = createWorld();
    const { response, session } = authorise(world);
    expect(world.pile.handle(response)).toEqual([]);
    expect(world.pile.handle(response)).toEqual([]);
    const result = onlySent(world.pile.commit(session.sid));
    expect(onlySent(world.pile.handle(response))).toBe(result);
    // After the duplicate window the result is forgotten.
    world.clock.advance(world.pile.limits.pendingTtlMs + 1);
    expect(kinds(world.pile.handle(response))).toEqual(['dropped']);
    expect(world.pile.memoryStats()).toMatchObject({ committing: 0, completed: 0 });
  });

  it('a response under the same sid with another proof is dropped, while committing and after', () => {
    const world = createWorld();
    const { response, session } = authorise(world);
    const forged = JSON.stringify({ ...JSON.parse(response), proof: 'A'.repeat(43) });
    expect(world.pile.handle(forged)).toEqual([
      { kind: 'dropped', reason: 'response for a completed handshake' },
    ]);
    world.pile.commit(session.sid);
    expect(kinds(world.pile.handle(forged))).toEqual(['dropped']);
  });

  it('an abandoned session never gets its result: nothing for duplicates, the connector is free', () => {
    const world = createWorld();
    const { response, session } = authorise(world);
    expect(world.pile.abandon(session.sid)).toBe(true);
    expect(world.pile.isOccupied(1)).toBe(false);
    expect(world.pile.memoryStats()).toMatchObject({ committing: 0, completed: 0 });
    expect(sent(world.pile.handle(response))).toEqual([]);
    expect(kinds(world.pile.handle(response))).toEqual(['dropped']);
    // A late commit sends nothing either, and abandoning twice changes nothing.
    expect(world.pile.commit(session.sid)).toEqual([]);
    expect(world.pile.abandon(session.sid)).toBe(false);
    // The next vehicle can take the connector.
    const next = authorise(world);
    expect(sent(world.pile.commit(next.session.sid))).toHaveLength(1);
  });

  it('abandon after a commit does nothing: the session holds its connector and its result', () => {
    const world = createWorld();
    const { response, session } = authorise(world);
    const result = onlySent(world.pile.commit(session.sid));
    expect(world.pile.abandon(session.sid)).toBe(false);
    expect(world.pile.isOccupied(1)).toBe(true);
    expect(onlySent(world.pile.handle(response))).toBe(result);
  });

  it('a commit that takes longer than the challenge lifetime still sends the result', () => {
    const world = createWorld();
    const { session } = authorise(world);
    world.clock.advance(world.pile.limits.pendingTtlMs * 3);
    expect(world.pile.tick()).toEqual([]);
    expect(sent(world.pile.commit(session.sid))).toHaveLength(1);
  });

  it('sessions on two connectors commit and abandon independently', () => {
    const world = createWorld();
    const first = authorise(world, 1);
    const second = authorise(world, 2);
    expect(world.pile.abandon(first.session.sid)).toBe(true);
    expect(sent(world.pile.commit(second.session.sid))).toHaveLength(1);
    expect([world.pile.isOccupied(1), world.pile.isOccupied(2)]).toEqual([false, true]);
    expect(world.pile.handle(first.response)).toEqual([
      { kind: 'dropped', reason: 'response for no pending handshake' },
    ]);
  });
});
