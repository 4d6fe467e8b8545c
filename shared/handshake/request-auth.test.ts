/**
 * PROTOCOL §6 revision 2: nothing unauthenticated costs a vehicle anything. The check order with what each step
 * leaves behind, the lockout attack of issue #12 against the state machine, auth.abort under AK, and the
 * migration switch for revision-1 vehicles.
 */
import { describe, expect, it } from 'vitest';
import { b64uDecode, b64uEncode } from '../crypto/bytes.js';
import { issueTestCredential, seededRandom } from '../testing.js';
import {
  createWorld,
  errorCodeOf,
  onlySent,
  PID,
  resignRequest,
  runHandshake,
  T0S,
  VID,
  vehicleSends,
} from './fixture.test-support.js';
import { buildAuthAbort } from './vehicle-messages.js';

type World = ReturnType<typeof createWorld>;
type Json = Record<string, unknown>;
const OTHER = 'VEH-0002';

/** Everything a pile remembers of requests: replay set, pending, per-vehicle counters of both vehicles. */
function memoryOf(world: World) {
  return {
    stats: world.pile.memoryStats(),
    pending: world.pile.pendingCount,
    vehicle: world.pile.standingOf(VID),
    other: world.pile.standingOf(OTHER),
  };
}

/** A genuine request of VID (fresh sid and r1, MACed) with fields changed and, unless `raw`, re-MACed. */
function request(world: World, patch: Json = {}, options: { raw?: boolean; terms?: object } = {}): string {
  const credential = world.credentialFor(options.terms);
  const base = world.signedRequest(credential) as Json;
  const changed = { ...base, ...patch };
  return JSON.stringify(options.raw ? changed : resignRequest(changed, credential.ak));
}

/** A request that fails only the step named, and the code it must get. */
const ONE_FAILURE: {
  step: number;
  code: string;
  payload(world: World): string;
  /** set up the pile so that exactly this step fails */
  arrange?(world: World): void;
}[] = [
  { step: 1, code: 'UNSUPPORTED_VERSION', payload: (w) => request(w, { v: 2, ticket: 7, shiny: true }) },
  { step: 1, code: 'MALFORMED', payload: (w) => request(w, { connector: 'one' }) },
  { step: 2, code: 'MALFORMED', payload: (w) => request(w, { ticket: b64uEncode(new Uint8Array([123])) }) },
  { step: 2, code: 'WRONG_PILE', payload: (w) => request(w, {}, { terms: { pid: 'PILE-0002' } }) },
  { step: 2, code: 'WRONG_VEHICLE', payload: (w) => request(w, { vid: OTHER }) },
  {
    step: 3,
    code: 'TICKET_NOT_YET_VALID',
    payload: (w) => request(w, {}, { terms: { nbf: T0S + 301, exp: T0S + 3600 } }),
  },
  {
    step: 3,
    code: 'TICKET_EXPIRED',
    payload: (w) => request(w, {}, { terms: { iat: T0S - 7200, nbf: T0S - 7200, exp: T0S - 301 } }),
  },
  { step: 4, code: 'UNKNOWN_KEY_OFFSET', payload: (w) => request(w, {}, { terms: { off: 7 } }) },
  { step: 5, code: 'BAD_REQUEST_MAC', payload: (w) => request(w, { ts: T0S + 1 }, { raw: true }) },
  { step: 5, code: 'BAD_REQUEST_MAC', payload: (w) => request(w, { mac: undefined }, { raw: true }) },
  {
    step: 5,
    code: 'BAD_REQUEST_MAC',
    payload: (w) => request(w, { mac: b64uEncode(w.random(32)) }, { raw: true }),
  },
  {
    step: 6,
    code: 'REVOKED',
    payload: (w) => {
      const credential = w.credentialFor();
      expect(w.applyControl(1, 0, [0], [{ tid: credential.tid, exp: credential.exp }]).ok).toBe(true);
      return JSON.stringify(w.signedRequest(credential));
    },
  },
  {
    step: 7,
    code: 'REPLAY',
    payload: (w) => {
      const credential = w.credentialFor();
      const first = w.signedRequest(credential) as Json;
      expect(errorCodeOf(w.pile.handle(JSON.stringify(first)))).toBeUndefined();
      return JSON.stringify(resignRequest({ ...first, sid: b64uEncode(w.random(16)) }, credential.ak));
    },
  },
  { step: 8, code: 'UNKNOWN_CONNECTOR', payload: (w) => request(w, { connector: 9 }) },
  { step: 8, code: 'CONNECTOR_BUSY', payload: (w) => request(w), arrange: (w) => w.setConnectorUp(false) },
  {
    step: 9,
    code: 'RATE_LIMITED',
    payload: (w) => request(w, { connector: 2 }),
    arrange: (w) => {
      for (let i = 0; i < w.pile.limits.requestsPerVehiclePerMinute; i++) w.pile.handle(request(w));
    },
  },
];

describe('the check order of PROTOCOL §6, revision 2', () => {
  for (const row of ONE_FAILURE) {
    it(`step ${row.step}: ${row.code}${row.step <= 5 ? ', and the pile keeps nothing' : ''}`, () => {
      const world = createWorld({ limits: { requestsPerVehiclePerMinute: 3 } });
      row.arrange?.(world);
      const payload = row.payload(world);
      const before = memoryOf(world);
      const counted = world.pile.counts().refused;
      const out = world.pile.handle(payload);
      expect(errorCodeOf(out)).toBe(row.code);
      const named = (JSON.parse(payload) as { vid: string }).vid;
      expect(out.find((o) => o.kind === 'rejected')).toMatchObject({ code: row.code, vid: named });
      const refused = world.pile.counts().refused;
      expect(refused[row.code as keyof typeof refused]).toBe(counted[row.code as keyof typeof counted] + 1);
      if (row.step <= 5) expect(memoryOf(world)).toEqual(before);
    });
  }

  it('where two steps fail, the earlier one answers: a bad mac hides revocation, replay, busy and limits', () => {
    const world = createWorld({ limits: { requestsPerVehiclePerMinute: 1, failedProofsBeforeLockout: 1 } });
    const credential = world.credentialFor();
    // Lock VID out with one failed proof of its own, and take connector 1.
    const challenge = onlySent(world.pile.handle(JSON.stringify(world.signedRequest(credential))));
    const sid = (JSON.parse(challenge) as { sid: string }).sid;
    const badProof = { v: 1, type: 'auth.response', sid, proof: b64uEncode(new Uint8Array(32)) };
    expect(errorCodeOf(world.pile.handle(JSON.stringify(badProof)))).toBe('BAD_PROOF');
    expect(world.pile.standingOf(VID).lockedOut).toBe(true);
    expect(world.applyControl(1, 0, [0], [{ tid: credential.tid, exp: credential.exp }]).ok).toBe(true);
    const before = memoryOf(world);
    const forged = { ...world.signedRequest(credential), sid, mac: b64uEncode(world.random(32)) };
    expect(errorCodeOf(world.pile.handle(JSON.stringify(forged)))).toBe('BAD_REQUEST_MAC');
    // An expired ticket with a bad mac: step 3 answers, before the mac is even computed.
    const old = world.credentialFor({ iat: T0S - 9000, nbf: T0S - 9000, exp: T0S - 4000 });
    const stale = { ...world.signedRequest(old), mac: b64uEncode(world.random(32)) };
    expect(errorCodeOf(world.pile.handle(JSON.stringify(stale)))).toBe('TICKET_EXPIRED');
    expect(memoryOf(world)).toEqual(before);
    // The genuine request now meets the later steps, in order.
    expect(errorCodeOf(world.pile.handle(JSON.stringify(world.signedRequest(credential))))).toBe('REVOKED');
  });
});

/** A ticket for this pile naming `vid`, made up by someone without the root key: any AK they pick is wrong. */
function madeUpCredential(vid: string, seed: string) {
  const fakeRoot = seededRandom(`${seed}-root`)(32);
  return issueTestCredential(
    fakeRoot,
    { vid, pid: PID, off: 0, iat: T0S, nbf: T0S, exp: T0S + 86400 },
    seededRandom(seed),
  );
}

describe('issue #12: vehicle A cannot lock vehicle B out of a pile', () => {
  it('A’s made-up requests in B’s name stop at step 5; its wrong proofs find nothing; B then charges', () => {
    const world = createWorld({ limits: { failedProofsBeforeLockout: 3, requestsPerVehiclePerMinute: 5 } });
    const before = memoryOf(world);
    for (let i = 0; i < 50; i++) {
      // A makes up a ticket naming B (VID), with a key of its own, and MACs the request under it.
      const forged = world.signedRequest(madeUpCredential(VID, `attack-${i}`));
      const out = world.pile.handle(JSON.stringify(forged));
      expect(errorCodeOf(out)).toBe('BAD_REQUEST_MAC');
      // It answers "the challenge" of the sid it chose with a wrong proof.
      const response = { v: 1, type: 'auth.response', sid: forged.sid, proof: b64uEncode(world.random(32)) };
      expect(world.pile.handle(JSON.stringify(response)).map((o) => o.kind)).toEqual(['dropped']);
      // And B's genuine ticket, if A ever saw one, without B's AK: the same.
      const replayed = { ...world.signedRequest(world.credentialFor()), mac: b64uEncode(world.random(32)) };
      expect(errorCodeOf(world.pile.handle(JSON.stringify(replayed)))).toBe('BAD_REQUEST_MAC');
    }
    expect(memoryOf(world)).toEqual(before);
    expect(world.pile.counts().refused.BAD_REQUEST_MAC).toBe(100);
    const b = world.vehicleFor(world.credentialFor());
    runHandshake(world, b);
    expect(b.state).toBe('authorized');
  });

  it('with the migration switch on, forged revision-1 requests count only against revision 1 of that name', () => {
    const world = createWorld({
      acceptRevision1Requests: true,
      limits: { failedProofsBeforeLockout: 3 },
      connectors: 1,
    });
    for (let i = 0; i < 3; i++) {
      const { mac: _, ...unmaced } = world.signedRequest(madeUpCredential(VID, `rev1-${i}`));
      const out = world.pile.handle(JSON.stringify(unmaced));
      expect(out.find((o) => o.kind === 'challenged')).toMatchObject({ revision: 1, vid: VID });
      const response = { v: 1, type: 'auth.response', sid: unmaced.sid, proof: b64uEncode(world.random(32)) };
      expect(errorCodeOf(world.pile.handle(JSON.stringify(response)))).toBe('BAD_PROOF');
    }
    expect(world.pile.counts().revision1Accepted).toBe(3);
    // A revision-1 vehicle of that name is locked out (as it always was), a revision-2 one is not.
    const { mac: _, ...rev1 } = world.signedRequest(world.credentialFor());
    expect(errorCodeOf(world.pile.handle(JSON.stringify(rev1)))).toBe('RATE_LIMITED');
    expect(world.pile.standingOf(VID)).toEqual({ requests: 0, failedProofs: 0, lockedOut: false });
    const b = world.vehicleFor(world.credentialFor());
    runHandshake(world, b);
    expect(b.state).toBe('authorized');
  });
});

describe('auth.abort under AK', () => {
  const pendingHandshake = () => {
    const world = createWorld();
    const credential = world.credentialFor();
    const vehicle = world.vehicleFor(credential);
    vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
    expect(world.pile.pendingCount).toBe(1);
    const sidBytes = b64uDecode(vehicle.sid);
    return { world, credential, vehicle, sidBytes };
  };

  it('one without a valid mac is ignored and counted: the handshake goes on', () => {
    const { world, credential, vehicle, sidBytes } = pendingHandshake();
    const genuine = buildAuthAbort(credential.ak, sidBytes, 'OFFER_DECLINED');
    const forgeries = [
      { ...genuine, mac: undefined },
      { ...genuine, mac: b64uEncode(world.random(32)) },
      { ...genuine, reason: 'PILE_NOT_AUTHENTIC' },
      buildAuthAbort(madeUpCredential(VID, 'abort').ak, sidBytes, 'OFFER_DECLINED'),
    ];
    for (const [i, abort] of forgeries.entries()) {
      expect(world.pile.handle(JSON.stringify(abort))).toEqual([
        { kind: 'dropped', reason: 'abort without a valid mac' },
      ]);
      expect(world.pile.counts().abortsIgnored).toBe(i + 1);
    }
    expect(world.pile.pendingCount).toBe(1);
    const result = world.pile.handle(vehicle.confirmOffer().payload);
    expect(result.some((o) => o.kind === 'authorized')).toBe(true);
  });

  it('one with a valid mac ends the pending handshake; a declined offer sends exactly that', () => {
    const { world, vehicle } = pendingHandshake();
    const [abort] = vehicleSends(vehicle.declineOffer());
    expect(JSON.parse(abort!)).toMatchObject({ type: 'auth.abort', reason: 'OFFER_DECLINED' });
    expect(world.pile.handle(abort!)).toEqual([
      { kind: 'aborted', sid: vehicle.sid, vid: VID, reason: 'OFFER_DECLINED' },
    ]);
    expect(world.pile.pendingCount).toBe(0);
    // Again, after the end: nothing to end, counted.
    expect(world.pile.handle(abort!).map((o) => o.kind)).toEqual(['dropped']);
    expect(world.pile.counts().abortsIgnored).toBe(1);
  });
});

describe('revision-1 requests (no mac)', () => {
  it('are refused with BAD_REQUEST_MAC by default, keeping nothing', () => {
    const world = createWorld();
    const before = memoryOf(world);
    const { mac: _, ...rev1 } = world.signedRequest(world.credentialFor());
    expect(errorCodeOf(world.pile.handle(JSON.stringify(rev1)))).toBe('BAD_REQUEST_MAC');
    expect(memoryOf(world)).toEqual(before);
    expect(world.pile.counts().revision1Accepted).toBe(0);
  });

  it('are served with the migration switch on, counted and labelled; a present mac is still checked', () => {
    const world = createWorld({ acceptRevision1Requests: true });
    const credential = world.credentialFor();
    const vehicle = world.vehicleFor(credential);
    const { mac: _, ...rev1 } = JSON.parse(vehicle.start().payload) as Json;
    const out = world.pile.handle(JSON.stringify(rev1));
    expect(out.find((o) => o.kind === 'challenged')).toMatchObject({ revision: 1 });
    expect(world.pile.counts().revision1Accepted).toBe(1);
    vehicle.receive(onlySent(out));
    expect(world.pile.handle(vehicle.confirmOffer().payload).some((o) => o.kind === 'authorized')).toBe(true);
    // A revision-2 request is labelled so, and a wrong mac is no revision-1 request.
    const rev2 = world.pile.handle(JSON.stringify(world.signedRequest(credential, { connector: 2 })));
    expect(rev2.find((o) => o.kind === 'challenged')).toMatchObject({ revision: 2 });
    const wrong = { ...world.signedRequest(credential, { connector: 2 }), mac: b64uEncode(world.random(32)) };
    expect(errorCodeOf(world.pile.handle(JSON.stringify(wrong)))).toBe('BAD_REQUEST_MAC');
    expect(world.pile.counts().revision1Accepted).toBe(1);
  });
});
