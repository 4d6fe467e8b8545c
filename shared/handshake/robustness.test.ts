/** Property: garbage never throws and never leaves state behind; replay memory stays bounded under load. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { b64uEncode } from '../crypto/bytes.js';
import { createWorld, onlySent } from './fixture.test-support.js';

/**
 * Payloads from pure noise to nearly valid messages with one field replaced by anything. `stillValid` names the
 * replacements that leave a message the receiver must accept (e.g. an auth.request whose `ts` became another
 * number: PROTOCOL §6 checks no `ts`), which are not garbage and are left out.
 */
function payloads(
  template: Record<string, unknown>[],
  stillValid: (message: Record<string, unknown>) => boolean = () => false,
) {
  const nearlyValid = fc
    .tuple(fc.constantFrom(...template), fc.nat(), fc.jsonValue())
    .map(([base, i, value]) => {
      const keys = Object.keys(base);
      return { ...base, [keys[i % keys.length]!]: value } as Record<string, unknown>;
    })
    .filter((message) => !stillValid(message))
    .map((message) => JSON.stringify(message));
  return fc.oneof(
    fc.string(),
    fc.uint8Array({ maxLength: 10_000 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.object().map((v) => JSON.stringify(v)),
    nearlyValid,
    nearlyValid.map((s) => new TextEncoder().encode(s)),
  );
}

/**
 * The genuine request itself (a field replaced by its own value): the pile rightly challenges it. Any other change
 * to a well-formed request breaks its mac (revision 2), so it is garbage too.
 */
const isTheGenuine = (genuine: string) => (message: Record<string, unknown>) =>
  JSON.stringify(message) === genuine;

/**
 * Well-formed requests that only a holder of AK could have made right, each with one MACed value changed or the
 * mac itself replaced or left out: every one must stop at step 5.
 */
function forgedRequests(genuine: Record<string, unknown>) {
  const changes = fc.oneof(
    fc.nat({ max: 4_000_000_000 }).map((ts) => ({ ts })),
    fc.integer({ min: 1, max: 255 }).map((connector) => ({ connector })),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ({ r1: b64uEncode(b) })),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ({ sid: b64uEncode(b) })),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({ mac: b64uEncode(b) })),
    fc.constant({ mac: undefined }),
  );
  return changes
    .map((change) => JSON.stringify({ ...genuine, ...change }))
    .filter((payload) => payload !== JSON.stringify(genuine));
}

describe('10,000 random and malformed payloads', () => {
  it('the pile never throws, answers no one it cannot name, and keeps no state', () => {
    const world = createWorld({ seed: 'fuzz-pile' });
    const vehicle = world.vehicleFor(world.credentialFor());
    const request = JSON.parse(vehicle.start().payload) as Record<string, unknown>;
    const templates = [
      request,
      { v: 1, type: 'auth.response', sid: request.sid, proof: b64uEncode(new Uint8Array(32)) },
      { v: 1, type: 'auth.abort', sid: request.sid, reason: 'PILE_NOT_AUTHENTIC', mac: request.mac },
      { v: 1, type: 'session.stop', sid: request.sid, seq: 1, mac: b64uEncode(new Uint8Array(32)) },
    ];
    let refusedRequest = 0;
    fc.assert(
      fc.property(
        fc.oneof(payloads(templates, isTheGenuine(JSON.stringify(request))), forgedRequests(request)),
        (payload) => {
          const out = world.pile.handle(payload);
          for (const o of out) {
            // Anything that is not a well-formed request is answered at most with an error.
            if (o.kind === 'authorized' || o.kind === 'challenged') return false;
            if (o.kind === 'rejected') refusedRequest++;
          }
          return true;
        },
      ),
      { numRuns: 10_000 },
    );
    expect(world.pile.memoryStats()).toEqual({
      pending: 0,
      committing: 0,
      completed: 0,
      replay: 0,
      vehicles: 0,
      failedProofs: 0,
      lockouts: 0,
    });
    expect(refusedRequest).toBeGreaterThan(0);
    // Well-formed requests with a changed field were among them: refused at step 5, counted per pile only.
    const counts = world.pile.counts();
    expect(counts.refused.BAD_REQUEST_MAC).toBeGreaterThan(0);
    expect(Object.values(counts.refused).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(refusedRequest);
    // And it still serves a genuine vehicle afterwards.
    const genuine = world.vehicleFor(world.credentialFor());
    genuine.receive(onlySent(world.pile.handle(genuine.start().payload)));
    expect(genuine.state).toBe('offered');
  });

  it('the vehicle never throws and its handshake is unchanged', () => {
    const world = createWorld({ seed: 'fuzz-vehicle' });
    const vehicle = world.vehicleFor(world.credentialFor());
    const challenge = onlySent(world.pile.handle(vehicle.start().payload));
    const parsed = JSON.parse(challenge) as Record<string, unknown>;
    const templates = [
      parsed,
      { v: 1, type: 'auth.result', sid: parsed.sid, ok: true, mac: b64uEncode(new Uint8Array(32)) },
      {
        v: 1,
        type: 'auth.error',
        sid: parsed.sid,
        code: 'BAD_PROOF',
        message: 'x',
        mac: b64uEncode(new Uint8Array(32)),
      },
    ];
    fc.assert(
      fc.property(payloads(templates), (payload) => {
        if (typeof payload === 'string' && payload === challenge) return true;
        const events = vehicle.receive(payload);
        // Noise is ignored; at most it ends the attempt (a broken offer, an advisory error). It never authorises.
        return events.every((e) => e.kind === 'ignored' || e.kind === 'failed' || e.kind === 'send');
      }),
      { numRuns: 10_000 },
    );
    // Unauthenticated errors before the challenge may end it; if it is still waiting, it completes normally.
    if (vehicle.state === 'requested') {
      vehicle.receive(challenge);
      expect(vehicle.state).toBe('offered');
    } else {
      expect(vehicle.state).toBe('failed');
    }
  });
});

// Five times the capacity is enough to show eviction keeps it bounded (100,000 took ~25 s of pure-JS crypto).
describe('replay memory under 30,000 distinct requests', () => {
  it('stays within its capacity, and the pile stays within its other bounds', () => {
    const capacity = 6_000;
    const world = createWorld({
      seed: 'replay-bound',
      limits: { replayCapacity: capacity, requestsPerVehiclePerMinute: 1_000_000 },
    });
    const credential = world.credentialFor();
    let maxReplay = 0;
    let maxPending = 0;
    let challenged = 0;
    for (let i = 0; i < 30_000; i++) {
      const payload = JSON.stringify(world.signedRequest(credential));
      if (world.pile.handle(payload).some((o) => o.kind === 'challenged')) challenged++;
      world.clock.advance(1_000);
      const stats = world.pile.memoryStats();
      maxReplay = Math.max(maxReplay, stats.replay);
      maxPending = Math.max(maxPending, stats.pending);
    }
    expect(maxPending).toBeLessThanOrEqual(world.pile.limits.maxPending);
    expect(challenged).toBeGreaterThan(27_000);
    expect(maxReplay).toBeLessThanOrEqual(capacity);
    expect(maxReplay).toBeGreaterThan(capacity / 2);
  }, 120_000);
});
