/** A pile, a vehicle and their credential, wired in memory with a manual clock. For tests only. */
import { buildPileControl, PileControlState } from '../control.js';
import type { VehicleCredential } from '../credential.js';
import { b64uDecode, b64uEncode } from '../crypto/bytes.js';
import { deriveControlKey } from '../crypto/kdf.js';
import { macKeyOf } from '../crypto/mac.js';
import type { AuthRequest } from '../messages/wire.js';
import { handleAndCommit, issueTestCredential, ManualClock, seededRandom } from '../testing.js';
import type { TicketTerms } from '../ticket.js';
import { PileAuthenticator, type PileLimits, type PileOutput } from './pile.js';
import { deriveRequestMac } from './proofs.js';
import { type VehicleEvent, VehicleHandshake } from './vehicle.js';
import { type AuthRequestFields, buildAuthRequest } from './vehicle-messages.js';

export { handleAndCommit };

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
export const T0S = Math.floor(T0 / 1000);
export const PID = 'PILE-0001';
export const VID = 'VEH-0001';

export function createWorld(
  options: {
    limits?: Partial<PileLimits>;
    seed?: string;
    connectors?: number;
    acceptRevision1Requests?: boolean;
  } = {},
) {
  const random = seededRandom(options.seed ?? 'world');
  const clock = new ClockWithSeconds(T0);
  const rootKey = random(32);
  const control = PileControlState.fromKeyOffset(0);
  let connectorUp = true;
  const pile = new PileAuthenticator({
    pid: PID,
    rootKey,
    connectors: Array.from({ length: options.connectors ?? 2 }, (_, i) => ({ id: i + 1, maxW: 150_000 })),
    tariff: { pricePerKWh: '0.39', currency: 'EUR' },
    control,
    now: clock.now,
    random,
    limits: options.limits ?? {},
    connectorAvailable: () => connectorUp,
    acceptRevision1Requests: options.acceptRevision1Requests ?? false,
  });
  const credentialFor = (terms: Partial<TicketTerms> = {}, key = rootKey): VehicleCredential =>
    issueTestCredential(
      key,
      { vid: VID, pid: PID, off: 0, iat: T0S, nbf: T0S, exp: T0S + 7 * 86400, ...terms },
      random,
    );
  const vehicleFor = (credential: VehicleCredential, connector = 1, vid = credential.parsed.body.vid) =>
    new VehicleHandshake({ vid, credential, connector, now: clock.now, random });
  /** An auth.request as a holder of the credential's AK makes it: fresh sid and r1, any field as given. */
  const signedRequest = (
    credential: VehicleCredential,
    fields: Partial<Omit<AuthRequestFields, 'ticket'>> = {},
  ): AuthRequest =>
    buildAuthRequest(macKeyOf(credential.ak), {
      sid: random(16),
      r1: random(16),
      vid: credential.parsed.body.vid,
      pid: credential.pid,
      connector: 1,
      ticket: credential.ticket,
      ts: clock.seconds,
      ...fields,
    });
  const controlKey = deriveControlKey(rootKey, PID);
  const applyControl = (
    seq: number,
    current: number,
    accept: number[],
    revoked: { tid: string; exp: number }[] = [],
    revokedVehicles: { vid: string; until: number }[] = [],
  ) =>
    control.apply(
      controlKey,
      PID,
      JSON.stringify(
        buildPileControl(controlKey, PID, {
          seq,
          issuedAt: clock.seconds,
          keyOffset: { current, accept },
          revoked,
          revokedVehicles,
        }),
      ),
      clock.seconds,
    );
  return {
    random,
    clock,
    rootKey,
    controlKey,
    control,
    pile,
    credentialFor,
    vehicleFor,
    signedRequest,
    applyControl,
    setConnectorUp: (up: boolean) => {
      connectorUp = up;
    },
  };
}

export class ClockWithSeconds extends ManualClock {
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
}

export function sent(outputs: PileOutput[]): string[] {
  return outputs.flatMap((o) => (o.kind === 'send' ? [o.payload] : []));
}

export function onlySent(outputs: PileOutput[]): string {
  const s = sent(outputs);
  if (s.length !== 1) throw new Error(`expected one message, got ${s.length}: ${JSON.stringify(outputs)}`);
  return s[0]!;
}

export function errorCodeOf(outputs: PileOutput[]): string | undefined {
  for (const payload of sent(outputs)) {
    const m = JSON.parse(payload) as { type?: string; code?: string };
    if (m.type === 'auth.error') return m.code;
  }
  return undefined;
}

export function vehicleSends(events: VehicleEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'send' ? [e.message.payload] : []));
}

/** Runs a whole handshake (the session committed at once); returns what each side saw. */
export function runHandshake(world: ReturnType<typeof createWorld>, vehicle: VehicleHandshake) {
  const request = vehicle.start();
  const challengeOut = world.pile.handle(request.payload);
  const challenge = onlySent(challengeOut);
  const onChallenge = vehicle.receive(challenge);
  const response = vehicle.state === 'offered' ? vehicle.confirmOffer() : undefined;
  const resultOut = response ? handleAndCommit(world.pile, response.payload) : [];
  const onResult = resultOut.length ? vehicle.receive(onlySent(resultOut)) : [];
  return { request, challengeOut, challenge, onChallenge, response, resultOut, onResult };
}

/**
 * The request's mac made again under `ak` after its fields were changed, as a holder of AK could; left as it is
 * where a field no longer has its type (the shape check refuses that first).
 */
export function resignRequest(request: Record<string, unknown>, ak: Uint8Array): Record<string, unknown> {
  const { sid, r1, vid, pid, connector, ts } = request;
  if (
    typeof sid !== 'string' ||
    typeof r1 !== 'string' ||
    typeof vid !== 'string' ||
    typeof pid !== 'string' ||
    typeof connector !== 'number' ||
    typeof ts !== 'number'
  )
    return request;
  try {
    const mac = deriveRequestMac(ak, b64uDecode(sid), b64uDecode(r1), vid, pid, connector, ts);
    return { ...request, mac: b64uEncode(mac) };
  } catch {
    return request;
  }
}
