/**
 * Wraps the vehicle client's authenticate for the UI: the stepper's step times, the offer waiting for the
 * driver (or accepted at once with auto-accept), and the failure to explain.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { OfferBody } from '../../shared/index.js';
import type { AuthStep, ChargingSessionPort, VehiclePort } from './vehicle-port.js';

export type HandshakePhase = 'idle' | 'running' | 'offer' | 'authorized' | 'failed';

export interface HandshakeFailure {
  code: string;
  message: string;
  /** the pile MACed its error (or the failure is the vehicle's own finding) */
  authenticated: boolean;
}

export interface HandshakeOptions {
  autoAccept(): boolean;
  onAuthorized(session: ChargingSessionPort, pid: string): void;
}

export class HandshakeController implements ReactiveController {
  phase: HandshakePhase = 'idle';
  pid?: string;
  connector?: number;
  steps: Partial<Record<AuthStep, number>> = {};
  startedAt = 0;
  offer?: OfferBody;
  failure?: HandshakeFailure;
  private answerOffer?: (accept: boolean) => void;
  private attempt = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: HandshakeOptions,
  ) {
    host.addController(this);
  }

  get busy(): boolean {
    return this.phase === 'running' || this.phase === 'offer';
  }

  async start(port: VehiclePort, pid: string, connector: number): Promise<void> {
    if (this.busy) return;
    const attempt = ++this.attempt;
    this.phase = 'running';
    this.pid = pid;
    this.connector = connector;
    this.steps = {};
    this.offer = undefined;
    this.failure = undefined;
    this.startedAt = Date.now();
    this.host.requestUpdate();
    const outcome = await port
      .authenticate(pid, connector, {
        onStep: (step, at) => {
          if (attempt !== this.attempt) return;
          this.steps = { ...this.steps, [step]: at };
          this.host.requestUpdate();
        },
        confirmOffer: (offer) => {
          if (attempt !== this.attempt) return Promise.resolve(false);
          this.offer = offer;
          if (this.options.autoAccept()) return Promise.resolve(true);
          this.phase = 'offer';
          this.host.requestUpdate();
          return new Promise<boolean>((resolve) => {
            this.answerOffer = resolve;
          });
        },
      })
      .catch((error: unknown) => ({
        ok: false as const,
        code: 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
        authenticated: false,
      }));
    if (attempt !== this.attempt) return;
    this.answerOffer = undefined;
    if (outcome.ok) {
      this.phase = 'authorized';
      this.options.onAuthorized(outcome.session, pid);
    } else {
      this.phase = 'failed';
      this.failure = { code: outcome.code, message: outcome.message, authenticated: outcome.authenticated };
    }
    this.host.requestUpdate();
  }

  accept(): void {
    if (this.phase !== 'offer') return;
    this.phase = 'running';
    this.answerOffer?.(true);
    this.answerOffer = undefined;
    this.host.requestUpdate();
  }

  decline(): void {
    this.answerOffer?.(false);
    this.answerOffer = undefined;
  }

  reset(): void {
    this.decline();
    this.attempt++;
    this.phase = 'idle';
    this.steps = {};
    this.offer = undefined;
    this.failure = undefined;
    this.host.requestUpdate();
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.decline();
  }
}
