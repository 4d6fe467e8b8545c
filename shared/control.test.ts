/** pile.control revision 2 (PROTOCOL §7): bodies up to 256 KiB, trusted only after the mac; revoked vehicles. */
import { describe, expect, it } from 'vitest';
import { buildPileControl, PileControlState } from './control.js';
import { b64uEncode } from './crypto/bytes.js';
import { createWorld, errorCodeOf, PID, T0S, VID } from './handshake/fixture.test-support.js';
import { MAX_CONTROL_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES } from './ids.js';
import { decodeMessage } from './messages/decode.js';
import { AuthRequest, PileControl } from './messages/wire.js';
import { seededRandom } from './testing.js';

const requestFrom = (world: ReturnType<typeof createWorld>, credential = world.credentialFor()) =>
  errorCodeOf(world.pile.handle(JSON.stringify(world.signedRequest(credential))));

/** `count` revoked tickets with distinct tids, as the cloud lists them. */
function revokedTickets(count: number, exp: number): { tid: string; exp: number }[] {
  const random = seededRandom('revoked');
  return Array.from({ length: count }, () => ({ tid: b64uEncode(random(16)), exp }));
}

describe('revokedVehicles', () => {
  it('refuses every ticket of the vehicle REVOKED until `until`, then forgets it', () => {
    const world = createWorld();
    const first = world.credentialFor();
    const second = world.credentialFor({ iat: T0S + 1 });
    const until = first.exp + 300;
    expect(world.applyControl(1, 0, [0], [], [{ vid: VID, until }]).ok).toBe(true);
    expect(requestFrom(world, first)).toBe('REVOKED');
    expect(requestFrom(world, second)).toBe('REVOKED');
    expect(world.control.revokedVehicleCount).toBe(1);
    // another vehicle's ticket at this pile is not touched
    expect(requestFrom(world, world.credentialFor({ vid: 'VEH-0002' }))).toBeUndefined();
    // up to `until` the vehicle stays refused; past it every ticket of the vehicle is expired anyway: it goes
    expect(world.control.isRevoked({ tid: first.tid, vid: VID }, until)).toBe(true);
    expect(world.control.isRevoked({ tid: first.tid, vid: VID }, until + 1)).toBe(false);
    expect(world.control.revokedVehicleCount).toBe(0);
  });

  it('is kept across a restart (the snapshot a gateway persists), and old snapshots still load', () => {
    const world = createWorld();
    const credential = world.credentialFor();
    expect(world.applyControl(1, 0, [0], [], [{ vid: VID, until: credential.exp + 300 }]).ok).toBe(true);
    const snapshot = JSON.parse(JSON.stringify(world.control.snapshot()));
    expect(snapshot.revokedVehicles).toEqual([{ vid: VID, until: credential.exp + 300 }]);
    const restored = new PileControlState(snapshot);
    expect(restored.isRevoked({ tid: credential.tid, vid: VID }, T0S)).toBe(true);
    const { revokedVehicles: _, ...revision1 } = snapshot;
    expect(new PileControlState(revision1).revokedVehicleCount).toBe(0);
  });

  it('a body without revokedVehicles is the revision-1 text, byte for byte', () => {
    const world = createWorld();
    const body = { seq: 1, issuedAt: T0S, keyOffset: { current: 0, accept: [0] }, revoked: [] };
    const without = buildPileControl(world.controlKey, PID, body);
    expect(buildPileControl(world.controlKey, PID, { ...body, revokedVehicles: [] })).toEqual(without);
    expect(without.body).toBe(
      `{"seq":1,"issuedAt":${T0S},"keyOffset":{"current":0,"accept":[0]},"revoked":[]}`,
    );
  });
});

describe('a pile.control of up to 256 KiB', () => {
  it('applies 5,000 revocations (tickets and vehicles) in one body and refuses every one', () => {
    const world = createWorld();
    const exp = T0S + 86400;
    const tickets = Array.from({ length: 10 }, (_, i) => world.credentialFor({ iat: T0S + i }));
    const vehicles = Array.from({ length: 10 }, (_, i) => world.credentialFor({ vid: `VEH-R${i}` }));
    const revoked = [...revokedTickets(2490, exp), ...tickets.map((c) => ({ tid: c.tid, exp: c.exp }))];
    const revokedVehicles = [
      ...Array.from({ length: 2490 }, (_, i) => ({ vid: `VEH-${String(i).padStart(5, '0')}`, until: exp })),
      ...vehicles.map((c) => ({ vid: c.parsed.body.vid, until: c.exp + 300 })),
    ];
    const message = buildPileControl(world.controlKey, PID, {
      seq: 1,
      issuedAt: T0S,
      keyOffset: { current: 0, accept: [0] },
      revoked,
      revokedVehicles,
    });
    const payload = JSON.stringify(message);
    expect(payload.length).toBeGreaterThan(MAX_PAYLOAD_BYTES * 20);
    expect(payload.length).toBeLessThanOrEqual(MAX_CONTROL_PAYLOAD_BYTES);
    expect(world.control.apply(world.controlKey, PID, payload, T0S).ok).toBe(true);
    expect(world.control.revokedCount + world.control.revokedVehicleCount).toBe(5000);
    for (const credential of [...tickets, ...vehicles])
      expect(requestFrom(world, credential)).toBe('REVOKED');
  });

  it('refuses a payload over 256 KiB as MALFORMED, before anything else', () => {
    const world = createWorld();
    const big = JSON.stringify({
      v: 1,
      type: 'pile.control',
      body: 'x'.repeat(MAX_CONTROL_PAYLOAD_BYTES),
      mac: 'A',
    });
    expect(world.control.apply(world.controlKey, PID, big, T0S)).toMatchObject({
      ok: false,
      code: 'MALFORMED',
    });
    expect(world.control.apply(world.controlKey, PID, new TextEncoder().encode(big), T0S)).toMatchObject({
      ok: false,
      code: 'MALFORMED',
    });
  });

  it('checks the mac before the body is parsed: a forged large body is BAD_MAC whatever it holds', () => {
    const world = createWorld();
    const genuine = buildPileControl(world.controlKey, PID, {
      seq: 1,
      issuedAt: T0S,
      keyOffset: { current: 0, accept: [0] },
      revoked: revokedTickets(3000, T0S + 86400),
    });
    // not even JSON inside: had the body been parsed first, this would be MALFORMED
    const forged = { ...genuine, body: `${genuine.body.slice(0, -1)}[[[` };
    expect(world.control.apply(world.controlKey, PID, JSON.stringify(forged), T0S)).toMatchObject({
      ok: false,
      code: 'BAD_MAC',
    });
    expect(world.control.seq).toBe(-1);
  });

  it('every other message keeps the 8 KiB limit', () => {
    const world = createWorld();
    const request = { ...world.signedRequest(world.credentialFor()), pad: 'x'.repeat(MAX_PAYLOAD_BYTES) };
    expect(decodeMessage(AuthRequest, JSON.stringify(request))).toMatchObject({
      ok: false,
      code: 'MALFORMED',
    });
    // and pile.control itself through the default (8 KiB) decoder
    const control = JSON.stringify(
      buildPileControl(world.controlKey, PID, {
        seq: 1,
        issuedAt: T0S,
        keyOffset: { current: 0, accept: [0] },
        revoked: revokedTickets(300, T0S + 86400),
      }),
    );
    expect(decodeMessage(PileControl, control)).toMatchObject({ ok: false, code: 'MALFORMED' });
    expect(decodeMessage(PileControl, control, MAX_CONTROL_PAYLOAD_BYTES).ok).toBe(true);
  });
});
