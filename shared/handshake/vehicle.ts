/**
 * The vehicle's side of the handshake (PROTOCOL §6) as a pure state machine. It sends auth.request, checks the
 * pile's proof (is the pile genuine?), opens the offer, lets the driver confirm it, answers with its own proof
 * and accepts auth.result only with a valid MAC. Clock and randomness are injected.
 */

import type { VehicleCredential } from '../credential.js';
import { b64uEncode, tryB64uDecode, utf8Decode } from '../crypto/bytes.js';
import { deriveSessionKey } from '../crypto/kdf.js';
import { type MacKey, macKeyOf, verifyMac } from '../crypto/mac.js';
import type { AbortReason, VehicleFailureCode } from '../errors.js';
import { type Clock, RANDOM_BYTES, type RandomSource, unixSeconds } from '../ids.js';
import { OfferBody } from '../messages/bodies.js';
import { decodeBody, parseJsonObject, validateMessage } from '../messages/decode.js';
import { type AuthChallenge, type AuthError, type AuthResult, VehicleAuthInbound } from '../messages/wire.js';
import { topics } from '../topics.js';
import { deriveErrorMac, derivePileProof, deriveResultMac, deriveVehicleProof, openOffer } from './proofs.js';
import { buildAuthAbort, buildAuthRequest } from './vehicle-messages.js';

export type VehicleHandshakeState = 'idle' | 'requested' | 'offered' | 'responded' | 'authorized' | 'failed';

export interface SessionKeys {
  sid: string;
  sidBytes: Uint8Array;
  vid: string;
  pid: string;
  connector: number;
  sk: Uint8Array;
  offer: OfferBody;
}

export interface OutboundMessage {
  topic: string;
  payload: string;
}

export type VehicleEvent =
  | { kind: 'send'; message: OutboundMessage }
  | { kind: 'pile-verified'; at: number }
  | { kind: 'offer'; offer: OfferBody; at: number }
  | { kind: 'authorized'; session: SessionKeys; at: number }
  | { kind: 'failed'; code: VehicleFailureCode; message: string; authenticated: boolean; at: number }
  | { kind: 'ignored'; reason: string };

export interface VehicleHandshakeOptions {
  vid: string;
  credential: VehicleCredential;
  connector: number;
  now: Clock;
  random: RandomSource;
  /** PROTOCOL §6: a vehicle gives up on a step after 5 s */
  stepTimeoutMs?: number;
}

export class VehicleHandshake {
  state: VehicleHandshakeState = 'idle';
  readonly sid: string;
  /** when each step happened (ms), for the driver's stepper */
  readonly timings: Partial<
    Record<'requested' | 'verified' | 'offered' | 'responded' | 'authorized', number>
  > = {};
  private readonly sidBytes: Uint8Array;
  private readonly r1: Uint8Array;
  private readonly vid: string;
  private readonly credential: VehicleCredential;
  /** AK, kept with the credential's bytes: it MACs twice in every handshake */
  private readonly ak: MacKey;
  private readonly connector: number;
  private readonly now: Clock;
  private readonly stepTimeoutMs: number;
  private stepDeadline = 0;
  private r3?: Uint8Array;
  private sk?: Uint8Array;
  private offer?: OfferBody;
  private offerPlaintext?: Uint8Array;

  constructor(options: VehicleHandshakeOptions) {
    this.vid = options.vid;
    this.credential = options.credential;
    this.ak = macKeyOf(options.credential.ak);
    this.connector = options.connector;
    this.now = options.now;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 5000;
    this.sidBytes = options.random(RANDOM_BYTES);
    this.r1 = options.random(RANDOM_BYTES);
    this.sid = b64uEncode(this.sidBytes);
  }

  get pid(): string {
    return this.credential.pid;
  }

  /** The auth.request to publish on piles/{pid}/auth. */
  start(): OutboundMessage {
    if (this.state !== 'idle') throw new Error(`start() in state ${this.state}`);
    const now = this.now();
    this.state = 'requested';
    this.timings.requested = now;
    this.stepDeadline = now + this.stepTimeoutMs;
    return {
      topic: topics.pileAuth(this.credential.pid),
      // Revision 2: MACed under AK, so no one without it can make a request in this vehicle's name.
      payload: JSON.stringify(
        buildAuthRequest(this.ak, {
          sid: this.sidBytes,
          r1: this.r1,
          vid: this.vid,
          pid: this.credential.pid,
          connector: this.connector,
          ticket: this.credential.ticket,
          ts: unixSeconds(now),
        }),
      ),
    };
  }

  /** Handles a payload from vehicles/{vid}/auth. Never throws. */
  receive(payload: Uint8Array | string): VehicleEvent[] {
    const json = parseJsonObject(payload);
    if (!json.ok) return [{ kind: 'ignored', reason: json.message }];
    const message = validateMessage(VehicleAuthInbound, json.value);
    if (!message.ok) return [{ kind: 'ignored', reason: message.message }];
    const m = message.value;
    if (m.sid !== this.sid) return [{ kind: 'ignored', reason: 'message for another session' }];
    switch (m.type) {
      case 'auth.challenge':
        return this.onChallenge(m);
      case 'auth.result':
        return this.onResult(m);
      case 'auth.error':
        return this.onError(m);
    }
  }

  private onChallenge(m: AuthChallenge): VehicleEvent[] {
    if (this.state !== 'requested') return [{ kind: 'ignored', reason: `challenge in state ${this.state}` }];
    const now = this.now();
    const r3 = tryB64uDecode(m.r3, RANDOM_BYTES);
    const expected = r3
      ? derivePileProof(this.ak, this.sidBytes, this.r1, r3, this.credential.pid, this.vid)
      : undefined;
    if (
      !r3 ||
      !expected ||
      m.pid !== this.credential.pid ||
      !verifyMac(expected, tryB64uDecode(m.proof, 32))
    ) {
      // The pile could not derive AK: it does not hold this pile's root key. Never answer it.
      return this.fail(
        'PILE_NOT_AUTHENTIC',
        'the pile could not prove it is genuine',
        true,
        'PILE_NOT_AUTHENTIC',
      );
    }
    this.timings.verified = now;
    const sk = deriveSessionKey(this.credential.ak, this.r1, r3, this.sidBytes);
    const plaintext = openOffer(sk, this.sidBytes, m.offer);
    let offer: OfferBody | undefined;
    if (plaintext) {
      try {
        const decoded = decodeBody(OfferBody, utf8Decode(plaintext));
        if (decoded.ok) offer = decoded.value;
      } catch {
        offer = undefined;
      }
    }
    if (!plaintext || !offer || offer.connector !== this.connector) {
      return this.fail(
        'OFFER_INVALID',
        'the offer does not open or names another connector',
        true,
        'OFFER_INVALID',
      );
    }
    this.r3 = r3;
    this.sk = sk;
    this.offer = offer;
    this.offerPlaintext = plaintext;
    this.state = 'offered';
    this.timings.offered = now;
    // The driver has a step timeout too: an offer not confirmed in time is dropped by the pile (10 s).
    this.stepDeadline = now + this.stepTimeoutMs;
    return [
      { kind: 'pile-verified', at: now },
      { kind: 'offer', offer, at: now },
    ];
  }

  /** The driver accepts the offer: the auth.response binding consent to its exact bytes. */
  confirmOffer(): OutboundMessage {
    if (this.state !== 'offered' || !this.r3 || !this.offerPlaintext) {
      throw new Error(`confirmOffer() in state ${this.state}`);
    }
    const now = this.now();
    const proof = deriveVehicleProof(
      this.ak,
      this.sidBytes,
      this.r1,
      this.r3,
      this.vid,
      this.credential.pid,
      this.offerPlaintext,
    );
    this.state = 'responded';
    this.timings.responded = now;
    this.stepDeadline = now + this.stepTimeoutMs;
    return {
      topic: topics.pileAuth(this.credential.pid),
      payload: JSON.stringify({ v: 1, type: 'auth.response', sid: this.sid, proof: b64uEncode(proof) }),
    };
  }

  /** The driver declines the offer. */
  declineOffer(): VehicleEvent[] {
    if (this.state !== 'offered') return [{ kind: 'ignored', reason: `decline in state ${this.state}` }];
    return this.fail('OFFER_DECLINED', 'the driver declined the offer', true, 'OFFER_DECLINED');
  }

  private onResult(m: AuthResult): VehicleEvent[] {
    if (this.state !== 'responded' || !this.sk || !this.offer) {
      return [{ kind: 'ignored', reason: `result in state ${this.state}` }];
    }
    if (!verifyMac(deriveResultMac(this.sk, this.sidBytes), tryB64uDecode(m.mac, 32))) {
      return [{ kind: 'ignored', reason: 'auth.result MAC does not verify' }];
    }
    const now = this.now();
    this.state = 'authorized';
    this.timings.authorized = now;
    return [
      {
        kind: 'authorized',
        at: now,
        session: {
          sid: this.sid,
          sidBytes: this.sidBytes,
          vid: this.vid,
          pid: this.credential.pid,
          connector: this.connector,
          sk: this.sk,
          offer: this.offer,
        },
      },
    ];
  }

  private onError(m: AuthError): VehicleEvent[] {
    if (this.state === 'authorized' || this.state === 'failed' || this.state === 'idle') {
      return [{ kind: 'ignored', reason: `error in state ${this.state}` }];
    }
    const authenticated =
      this.sk !== undefined &&
      m.mac !== undefined &&
      verifyMac(deriveErrorMac(this.sk, this.sidBytes, m.code), tryB64uDecode(m.mac, 32));
    // Once SK exists the genuine pile MACs its errors: an unMACed one then is forged and changes nothing.
    if (this.sk && !authenticated) return [{ kind: 'ignored', reason: 'auth.error without a valid MAC' }];
    return this.fail(m.code, m.message, authenticated);
  }

  /** Gives up on a step that took longer than the step timeout (PROTOCOL §6). */
  tick(): VehicleEvent[] {
    if (this.state !== 'requested' && this.state !== 'offered' && this.state !== 'responded') return [];
    if (this.now() < this.stepDeadline) return [];
    return this.fail('TIMEOUT', 'the pile did not answer in time', false, 'TIMEOUT');
  }

  get deadline(): number {
    return this.stepDeadline;
  }

  private fail(
    code: VehicleFailureCode,
    message: string,
    authenticated: boolean,
    abort?: AbortReason,
  ): VehicleEvent[] {
    const at = this.now();
    const wasPending = this.state !== 'idle' && this.state !== 'failed' && this.state !== 'authorized';
    this.state = 'failed';
    const events: VehicleEvent[] = [];
    if (abort && wasPending) {
      events.push({
        kind: 'send',
        message: {
          topic: topics.pileAuth(this.credential.pid),
          // MACed under AK (revision 2): the pile ends the pending handshake only on a genuine abort.
          payload: JSON.stringify(buildAuthAbort(this.ak, this.sidBytes, abort)),
        },
      });
    }
    events.push({ kind: 'failed', code, message, authenticated, at });
    return events;
  }
}
