/** Both state machines in memory: a full handshake and charging session, and every error code of §6. */
import { describe, expect, it } from 'vitest';
import { b64uEncode } from '../crypto/bytes.js';
import { PileSession } from '../session/pile-session.js';
import { VehicleSession } from '../session/vehicle-session.js';
import {
  createWorld,
  errorCodeOf,
  handleAndCommit,
  onlySent,
  PID,
  resignRequest,
  runHandshake,
  sent,
  T0S,
  VID,
  vehicleSends,
} from './fixture.test-support.js';
import type { AuthorizedSession } from './pile.js';
import type { SessionKeys } from './vehicle.js';

describe('a full handshake and charging session', () => {
  it('authorises the vehicle, then meters, stop and receipt verify end to end', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor({ maxWh: 80_000 }));
    const run = runHandshake(world, vehicle);

    expect(run.onChallenge.map((e) => e.kind)).toEqual(['pile-verified', 'offer']);
    const offer = run.onChallenge.find((e) => e.kind === 'offer');
    expect(offer?.kind === 'offer' && offer.offer).toMatchObject({
      connector: 1,
      maxW: 150_000,
      pricePerKWh: '0.39',
    });
    const authorized = run.resultOut.find((o) => o.kind === 'authorized');
    expect(authorized).toBeDefined();
    const pileSide = (authorized as { session: AuthorizedSession }).session;
    expect(pileSide).toMatchObject({ vid: VID, pid: PID, connector: 1, maxWh: 80_000 });
    const done = run.onResult.find((e) => e.kind === 'authorized');
    expect(vehicle.state).toBe('authorized');
    const keys = (done as { session: SessionKeys }).session;
    // Both sides hold the same session key without ever sending it.
    expect(b64uEncode(keys.sk)).toBe(b64uEncode(pileSide.sk));
    expect(world.pile.isOccupied(1)).toBe(true);

    const pileSession = new PileSession({ sid: pileSide.sid, sk: pileSide.sk, meterSeq: 0, stopSeq: 0 });
    const vehicleSession = new VehicleSession(keys);
    for (const wh of [0, 120, 480, 480, 900]) {
      const meter = pileSession.signMeter({ ts: T0S + wh, wh, w: 50_000, state: 'charging' });
      const event = vehicleSession.receive(JSON.stringify(meter));
      expect(event.kind).toBe('meter');
    }
    expect(vehicleSession.lastWh).toBe(900);
    const stop = vehicleSession.stop();
    const stopOut = world.pile.handle(stop.payload);
    const stopMessage = stopOut.find((o) => o.kind === 'stop');
    expect(stopMessage?.kind).toBe('stop');
    if (stopMessage?.kind !== 'stop') return;
    expect(pileSession.verifyStop(stopMessage.message).ok).toBe(true);
    // The same stop again is a replay.
    expect(pileSession.verifyStop(stopMessage.message)).toMatchObject({ ok: false, code: 'REPLAY' });
    const end = pileSession.signReceipt({
      reason: 'vehicle-stop',
      wh: 900,
      cost: '0.35',
      currency: 'EUR',
      startedAt: T0S,
      endedAt: T0S + 60,
    });
    const ended = vehicleSession.receive(JSON.stringify(end));
    expect(ended.kind).toBe('ended');
    world.pile.release(1);
    expect(world.pile.isOccupied(1)).toBe(false);
  });

  it('the vehicle refuses meters with a bad MAC, an old seq or falling energy', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    const run = runHandshake(world, vehicle);
    const pileSide = (run.resultOut.find((o) => o.kind === 'authorized') as { session: AuthorizedSession })
      .session;
    const keys = (run.onResult.find((e) => e.kind === 'authorized') as { session: SessionKeys }).session;
    const pile = new PileSession({ sid: pileSide.sid, sk: pileSide.sk, meterSeq: 0, stopSeq: 0 });
    const car = new VehicleSession(keys);
    const first = pile.signMeter({ ts: T0S, wh: 500, w: 1000, state: 'charging' });
    expect(car.receive(JSON.stringify(first)).kind).toBe('meter');
    expect(car.receive(JSON.stringify(first))).toMatchObject({
      kind: 'meter-rejected',
      code: 'OUT_OF_ORDER',
    });
    const lower = pile.signMeter({ ts: T0S + 1, wh: 400, w: 1000, state: 'charging' });
    expect(car.receive(JSON.stringify(lower))).toMatchObject({
      kind: 'meter-rejected',
      code: 'ENERGY_DECREASED',
    });
    const forged = { ...pile.signMeter({ ts: T0S + 2, wh: 9_999, w: 1000, state: 'charging' }) };
    forged.body = forged.body.replace('9999', '99999');
    expect(car.receive(JSON.stringify(forged))).toMatchObject({ kind: 'meter-rejected', code: 'BAD_MAC' });
    expect(car.lastWh).toBe(500);
  });

  it('answers a QoS-1 duplicate request with the same challenge, and a duplicate response with the same result', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    const request = vehicle.start();
    const first = onlySent(world.pile.handle(request.payload));
    const again = onlySent(world.pile.handle(request.payload));
    expect(again).toBe(first);
    vehicle.receive(first);
    const response = vehicle.confirmOffer();
    const result = onlySent(handleAndCommit(world.pile, response.payload));
    expect(onlySent(world.pile.handle(response.payload))).toBe(result);
  });
});

describe('the pile answers each check of PROTOCOL §6 with its code', () => {
  /** A request with fields changed and its mac made again, as a holder of AK could (revision 2). */
  const requestWith = (
    world: ReturnType<typeof createWorld>,
    patch: Record<string, unknown>,
    credential = world.credentialFor(),
  ) => {
    const vehicle = world.vehicleFor(credential);
    const request = JSON.parse(vehicle.start().payload) as Record<string, unknown>;
    return world.pile.handle(JSON.stringify(resignRequest({ ...request, ...patch }, credential.ak)));
  };

  it('MALFORMED: a shape error that still names the vehicle', () => {
    const world = createWorld();
    expect(errorCodeOf(requestWith(world, { connector: 'one' }))).toBe('MALFORMED');
    expect(errorCodeOf(requestWith(world, { ticket: 'not base64url!' }))).toBe('MALFORMED');
    expect(errorCodeOf(requestWith(world, { ticket: b64uEncode(new TextEncoder().encode('{"v":1}')) }))).toBe(
      'MALFORMED',
    );
  });

  it('MALFORMED payloads that name no vehicle are dropped and counted', () => {
    const world = createWorld();
    for (const payload of ['not json', '[]', 'null', '{"type":"auth.request"}', 'x'.repeat(9000)]) {
      const out = world.pile.handle(payload);
      expect(sent(out)).toEqual([]);
      expect(out.map((o) => o.kind)).toEqual(['dropped']);
    }
  });

  it('UNSUPPORTED_VERSION', () => {
    expect(errorCodeOf(requestWith(createWorld(), { v: 2 }))).toBe('UNSUPPORTED_VERSION');
  });

  it('WRONG_PILE: the request or the ticket names another pile', () => {
    const world = createWorld();
    expect(errorCodeOf(requestWith(world, {}, world.credentialFor({ pid: 'PILE-0002' })))).toBe('WRONG_PILE');
    expect(errorCodeOf(requestWith(world, { pid: 'PILE-0002' }))).toBe('WRONG_PILE');
  });

  it('WRONG_VEHICLE: the ticket belongs to another vehicle', () => {
    const world = createWorld();
    expect(errorCodeOf(requestWith(world, { vid: 'VEH-OTHER' }))).toBe('WRONG_VEHICLE');
  });

  it('TICKET_NOT_YET_VALID and TICKET_EXPIRED at exactly ±300 s', () => {
    const world = createWorld();
    const future = world.credentialFor({ nbf: T0S + 300, exp: T0S + 3600 });
    expect(errorCodeOf(requestWith(world, {}, future))).toBeUndefined(); // now == nbf - 300: valid
    const later = world.credentialFor({ nbf: T0S + 301, exp: T0S + 3600 });
    expect(errorCodeOf(requestWith(world, {}, later))).toBe('TICKET_NOT_YET_VALID');
    const justExpired = world.credentialFor({ iat: T0S - 3600, nbf: T0S - 3600, exp: T0S - 300 });
    expect(errorCodeOf(requestWith(world, {}, justExpired))).toBeUndefined(); // now == exp + 300: valid
    const expired = world.credentialFor({ iat: T0S - 3600, nbf: T0S - 3600, exp: T0S - 301 });
    expect(errorCodeOf(requestWith(world, {}, expired))).toBe('TICKET_EXPIRED');
  });

  it('UNKNOWN_KEY_OFFSET', () => {
    const world = createWorld();
    expect(errorCodeOf(requestWith(world, {}, world.credentialFor({ off: 1 })))).toBe('UNKNOWN_KEY_OFFSET');
    expect(world.applyControl(1, 1, [0, 1]).ok).toBe(true);
    expect(errorCodeOf(requestWith(world, {}, world.credentialFor({ off: 1 })))).toBeUndefined();
  });

  it('REVOKED', () => {
    const world = createWorld();
    const credential = world.credentialFor();
    expect(world.applyControl(1, 0, [0], [{ tid: credential.tid, exp: credential.exp }]).ok).toBe(true);
    expect(errorCodeOf(requestWith(world, {}, credential))).toBe('REVOKED');
  });

  it('REPLAY: a used sid, or the same (tid, r1) with a new sid', () => {
    const world = createWorld();
    const credential = world.credentialFor();
    const vehicle = world.vehicleFor(credential);
    const request = JSON.parse(vehicle.start().payload) as Record<string, unknown>;
    expect(errorCodeOf(world.pile.handle(JSON.stringify(request)))).toBeUndefined();
    // Same sid, different content while pending (MACed: the vehicle itself sent it).
    const later = resignRequest({ ...request, ts: (request.ts as number) + 1 }, credential.ak);
    expect(errorCodeOf(world.pile.handle(JSON.stringify(later)))).toBe('REPLAY');
    // Same ticket and r1 under a fresh sid.
    const fresh = resignRequest({ ...request, sid: b64uEncode(world.random(16)) }, credential.ak);
    expect(errorCodeOf(world.pile.handle(JSON.stringify(fresh)))).toBe('REPLAY');
  });

  it('UNKNOWN_CONNECTOR and CONNECTOR_BUSY', () => {
    const world = createWorld();
    expect(errorCodeOf(requestWith(world, { connector: 9 }))).toBe('UNKNOWN_CONNECTOR');
    world.setConnectorUp(false);
    expect(errorCodeOf(requestWith(world, {}))).toBe('CONNECTOR_BUSY');
    world.setConnectorUp(true);
    runHandshake(world, world.vehicleFor(world.credentialFor()));
    expect(world.pile.isOccupied(1)).toBe(true);
    expect(errorCodeOf(requestWith(world, {}))).toBe('CONNECTOR_BUSY');
    // Another vehicle's pending handshake holds the connector too.
    const other = world.vehicleFor(world.credentialFor({ vid: 'VEH-0002' }), 2);
    world.pile.handle(other.start().payload);
    expect(errorCodeOf(requestWith(world, { connector: 2 }))).toBe('CONNECTOR_BUSY');
  });

  it('RATE_LIMITED: per-vehicle requests per minute, pending per pile, lockout after failed proofs', () => {
    const perVehicle = createWorld({ limits: { requestsPerVehiclePerMinute: 3 } });
    const codes = Array.from({ length: 4 }, () => errorCodeOf(requestWith(perVehicle, {})));
    expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    perVehicle.clock.advance(60_000);
    expect(errorCodeOf(perVehicle.pile.tick())).toBe('TIMEOUT'); // the earlier challenges expire first
    expect(errorCodeOf(requestWith(perVehicle, {}))).toBeUndefined();

    const pending = createWorld({ limits: { maxPending: 2 }, connectors: 5 });
    const pendingCodes = [1, 2, 3].map((c, i) =>
      errorCodeOf(requestWith(pending, { connector: c }, pending.credentialFor({ vid: `VEH-${i}` }))),
    );
    expect(pendingCodes).toEqual([undefined, undefined, 'RATE_LIMITED']);

    const lockout = createWorld({ limits: { failedProofsBeforeLockout: 2, lockoutMs: 60_000 } });
    for (let i = 0; i < 2; i++) {
      const vehicle = lockout.vehicleFor(lockout.credentialFor());
      const challenge = onlySent(lockout.pile.handle(vehicle.start().payload));
      const sid = (JSON.parse(challenge) as { sid: string }).sid;
      const bad = JSON.stringify({ v: 1, type: 'auth.response', sid, proof: b64uEncode(new Uint8Array(32)) });
      expect(errorCodeOf(lockout.pile.handle(bad))).toBe('BAD_PROOF');
    }
    expect(errorCodeOf(requestWith(lockout, {}))).toBe('RATE_LIMITED');
    lockout.clock.advance(60_001);
    lockout.pile.tick();
    expect(errorCodeOf(requestWith(lockout, {}))).toBeUndefined();
  });

  it('BAD_PROOF is MACed, ends the pending handshake and the vehicle trusts it', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    const challenge = onlySent(world.pile.handle(vehicle.start().payload));
    vehicle.receive(challenge);
    const real = JSON.parse(vehicle.confirmOffer().payload) as { proof: string };
    const proof = `${real.proof[0] === 'A' ? 'B' : 'A'}${real.proof.slice(1)}`;
    const out = world.pile.handle(JSON.stringify({ ...real, proof }));
    expect(errorCodeOf(out)).toBe('BAD_PROOF');
    const events = vehicle.receive(onlySent(out));
    expect(events).toMatchObject([{ kind: 'failed', code: 'BAD_PROOF', authenticated: true }]);
    // The handshake is gone: the genuine response now finds nothing pending.
    expect(world.pile.handle(JSON.stringify(real)).map((o) => o.kind)).toEqual(['dropped']);
  });

  it('TIMEOUT: the pile forgets a challenge after 10 s and says so with a MAC', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
    world.clock.advance(10_000);
    const out = world.pile.tick();
    expect(errorCodeOf(out)).toBe('TIMEOUT');
    expect(world.pile.pendingCount).toBe(0);
    expect(vehicle.receive(onlySent(out))).toMatchObject([
      { kind: 'failed', code: 'TIMEOUT', authenticated: true },
    ]);
  });
});

describe('the vehicle side', () => {
  it('refuses a pile without the root key: PILE_NOT_AUTHENTIC, auth.abort, and never an auth.response', () => {
    const world = createWorld();
    // A counterfeit pile checks nothing: here one that takes any request without its mac.
    const impostor = createWorld({ seed: 'impostor', acceptRevision1Requests: true });
    // A ticket the impostor pile accepts in every field, but AK comes from the real root key.
    const credential = world.credentialFor();
    const vehicle = world.vehicleFor(credential);
    const { mac, ...unmaced } = JSON.parse(vehicle.start().payload) as Record<string, unknown>;
    // The impostor derives another AK from the ticket, so the genuine request's mac fails there.
    expect(errorCodeOf(impostor.pile.handle(JSON.stringify({ ...unmaced, mac })))).toBe('BAD_REQUEST_MAC');
    const challenge = onlySent(impostor.pile.handle(JSON.stringify(unmaced)));
    const events = vehicle.receive(challenge);
    expect(events.map((e) => e.kind)).toEqual(['send', 'failed']);
    expect(events[1]).toMatchObject({ code: 'PILE_NOT_AUTHENTIC' });
    expect(vehicleSends(events).map((p) => JSON.parse(p).type)).toEqual(['auth.abort']);
    expect(() => vehicle.confirmOffer()).toThrow();
    expect(vehicle.state).toBe('failed');
  });

  it('gives up after 5 s per step', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    vehicle.start();
    world.clock.advance(4_999);
    expect(vehicle.tick()).toEqual([]);
    world.clock.advance(1);
    expect(vehicle.tick()).toMatchObject([{ kind: 'send' }, { kind: 'failed', code: 'TIMEOUT' }]);
  });

  it('shows an unMACed error before the challenge as advisory, and ignores one after it', () => {
    const world = createWorld();
    const early = world.vehicleFor(world.credentialFor());
    early.start();
    const forged = JSON.stringify({
      v: 1,
      type: 'auth.error',
      sid: early.sid,
      code: 'REVOKED',
      message: 'x',
    });
    expect(early.receive(forged)).toMatchObject([{ kind: 'failed', code: 'REVOKED', authenticated: false }]);

    const late = world.vehicleFor(world.credentialFor());
    late.receive(onlySent(world.pile.handle(late.start().payload)));
    const forgedLate = JSON.stringify({
      v: 1,
      type: 'auth.error',
      sid: late.sid,
      code: 'BAD_PROOF',
      message: 'x',
    });
    expect(late.receive(forgedLate)).toMatchObject([{ kind: 'ignored' }]);
    expect(late.state).toBe('offered');
  });

  it('accepts auth.result only with a valid MAC', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
    vehicle.confirmOffer();
    const fake = JSON.stringify({
      v: 1,
      type: 'auth.result',
      sid: vehicle.sid,
      ok: true,
      mac: b64uEncode(new Uint8Array(32)),
    });
    expect(vehicle.receive(fake)).toMatchObject([{ kind: 'ignored' }]);
    expect(vehicle.state).toBe('responded');
  });

  it('the driver may decline the offer: auth.abort and the pile frees the handshake', () => {
    const world = createWorld();
    const vehicle = world.vehicleFor(world.credentialFor());
    vehicle.receive(onlySent(world.pile.handle(vehicle.start().payload)));
    const events = vehicle.declineOffer();
    const abort = vehicleSends(events)[0]!;
    expect(world.pile.handle(abort).map((o) => o.kind)).toEqual(['aborted']);
    expect(world.pile.pendingCount).toBe(0);
  });
});

describe('pile.control', () => {
  it('applies only a valid MAC with a strictly increasing seq', () => {
    const world = createWorld();
    expect(world.applyControl(5, 0, [0]).ok).toBe(true);
    expect(world.applyControl(5, 1, [1])).toMatchObject({ ok: false, code: 'STALE_SEQ' });
    expect(world.applyControl(4, 1, [1])).toMatchObject({ ok: false, code: 'STALE_SEQ' });
    expect(world.applyControl(6, 1, [1]).ok).toBe(true);
    expect(world.control.acceptsOffset(0)).toBe(false);
    expect(world.control.acceptsOffset(1)).toBe(true);
    const snapshot = world.control.snapshot();
    expect(snapshot.seq).toBe(6);
  });
});

describe('pile.control from another pile', () => {
  it('is refused: BAD_MAC, nothing applied', async () => {
    const { buildPileControl, PileControlState } = await import('../control.js');
    const { deriveControlKey } = await import('../crypto/kdf.js');
    const world = createWorld();
    const other = createWorld({ seed: 'other' });
    const foreignKey = deriveControlKey(other.rootKey, PID);
    const message = buildPileControl(foreignKey, PID, {
      seq: 9,
      issuedAt: T0S,
      keyOffset: { current: 3, accept: [3] },
      revoked: [],
    });
    const before = world.control.snapshot();
    const ownKey = deriveControlKey(world.rootKey, PID);
    expect(world.control.apply(ownKey, PID, JSON.stringify(message), T0S)).toMatchObject({
      ok: false,
      code: 'BAD_MAC',
    });
    expect(world.control.snapshot()).toEqual(before);
    expect(new PileControlState(before).acceptsOffset(0)).toBe(true);
  });
});
