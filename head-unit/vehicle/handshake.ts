/** Drives one VehicleHandshake over the client's MQTT connection, reporting each step with its time. */
import {
  type AuthFailureCode,
  type OfferBody,
  type SessionKeys,
  type VehicleCredential,
  type VehicleEvent,
  VehicleHandshake,
} from '../../shared/index.js';
import type { ChargingSession } from './charging.js';

export type AuthStepName =
  | 'credential'
  | 'request-sent'
  | 'pile-verified'
  | 'offer'
  | 'response-sent'
  | 'authorized'
  | 'failed';

export interface AuthStep {
  step: AuthStepName;
  pid: string;
  connector: number;
  /** set once the request is built */
  sid?: string;
  /** when it happened (ms since epoch) */
  at: number;
  /** ms since authenticate() was called */
  elapsedMs: number;
  /** 'credential': where it came from; 'offer': the offer; 'failed': the code */
  detail?: { source?: 'stored' | 'requested'; offer?: OfferBody; code?: AuthFailureCode; message?: string };
}

export type { AuthFailureCode };

export type AuthOutcome =
  | { ok: true; session: ChargingSession; steps: AuthStep[]; totalMs: number }
  | {
      ok: false;
      code: AuthFailureCode;
      message: string;
      /** true when the pile MACed the error (it is genuine and said so) */
      authenticated: boolean;
      steps: AuthStep[];
      totalMs: number;
    };

export interface AuthenticateOptions {
  /** The driver accepts the offer (default: accept). Step timers pause while this runs. */
  confirmOffer?: (offer: OfferBody) => Promise<boolean> | boolean;
  onStep?: (step: AuthStep) => void;
  /** how long to wait for a missing credential from the cloud */
  credentialTimeoutMs?: number;
  /** new attempts (new sid, new r1) after a step timed out; default 0 */
  retries?: number;
}

/** What the handshake needs from the client (kept narrow so it can be tested alone). */
export interface HandshakeHost {
  readonly vid: string;
  readonly now: () => number;
  readonly random: (length: number) => Uint8Array;
  readonly stepTimeoutMs: number;
  connectionState: string;
  usableCredential(pid: string): VehicleCredential | undefined;
  requestCredential(pid: string, options?: { timeoutMs?: number }): Promise<VehicleCredential>;
  publish(topic: string, payload: string): void;
}

export interface HandshakeHooks {
  subscribeAuth(listener: (payload: Uint8Array) => void): () => void;
  step(step: AuthStep): void;
  /** opens the session of `keys`, authorised with `credential` (its receipt is held against the credential) */
  startSession(keys: SessionKeys, credential: VehicleCredential): ChargingSession;
}

export async function runHandshake(
  host: HandshakeHost,
  pid: string,
  connector: number,
  options: AuthenticateOptions,
  hooks: HandshakeHooks,
): Promise<AuthOutcome> {
  const t0 = host.now();
  const steps: AuthStep[] = [];
  let sid: string | undefined;
  const record = (step: AuthStepName, detail?: AuthStep['detail']) => {
    const at = host.now();
    const s: AuthStep = { step, pid, connector, at, elapsedMs: at - t0 };
    if (sid) s.sid = sid;
    if (detail) s.detail = detail;
    steps.push(s);
    hooks.step(s);
    options.onStep?.(s);
  };
  const failure = (code: AuthFailureCode, message: string, authenticated = false): AuthOutcome => {
    record('failed', { code, message });
    return { ok: false, code, message, authenticated, steps, totalMs: host.now() - t0 };
  };

  let credential = host.usableCredential(pid);
  let source: 'stored' | 'requested' = 'stored';
  if (!credential) {
    if (host.connectionState !== 'connected') {
      return failure('NOT_CONNECTED', `no credential for ${pid} and no connection to ask the cloud`);
    }
    try {
      credential = await host.requestCredential(pid, { timeoutMs: options.credentialTimeoutMs ?? 5000 });
      source = 'requested';
    } catch (error) {
      return failure('NO_CREDENTIAL', (error as Error).message);
    }
  }
  record('credential', { source });

  const handshake = new VehicleHandshake({
    vid: host.vid,
    credential,
    connector,
    now: host.now,
    random: host.random,
    stepTimeoutMs: host.stepTimeoutMs,
  });
  sid = handshake.sid;

  return new Promise<AuthOutcome>((resolve) => {
    let confirming = false;
    let finished = false;
    const finish = (outcome: AuthOutcome) => {
      if (finished) return;
      finished = true;
      unsubscribe();
      clearInterval(ticker);
      resolve(outcome);
    };
    const handle = (events: VehicleEvent[]) => {
      for (const event of events) {
        switch (event.kind) {
          case 'send':
            host.publish(event.message.topic, event.message.payload);
            break;
          case 'pile-verified':
            record('pile-verified');
            break;
          case 'offer':
            record('offer', { offer: event.offer });
            void confirm(event.offer);
            break;
          case 'authorized': {
            // Synchronously, so the first session.meter (right behind auth.result) finds its session.
            const session = hooks.startSession(event.session, credential);
            record('authorized');
            finish({ ok: true, session, steps, totalMs: host.now() - t0 });
            break;
          }
          case 'failed':
            finish(failure(event.code, event.message, event.authenticated));
            break;
          case 'ignored':
            break;
        }
      }
    };
    const confirm = async (offer: OfferBody) => {
      confirming = true;
      let accepted = true;
      try {
        accepted = options.confirmOffer ? await options.confirmOffer(offer) : true;
      } catch {
        accepted = false;
      }
      confirming = false;
      if (finished) return;
      if (!accepted) {
        handle(handshake.declineOffer());
        return;
      }
      const response = handshake.confirmOffer();
      host.publish(response.topic, response.payload);
      record('response-sent');
    };
    const unsubscribe = hooks.subscribeAuth((payload) => {
      if (!finished) handle(handshake.receive(payload));
    });
    // The driver's confirmation is not a protocol step: don't time it out.
    const ticker = setInterval(() => {
      if (!confirming && !finished) handle(handshake.tick());
    }, 100);
    const request = handshake.start();
    host.publish(request.topic, request.payload);
    record('request-sent');
  });
}
