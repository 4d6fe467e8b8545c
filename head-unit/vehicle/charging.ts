/**
 * One charging session as the vehicle sees it: every session.meter is checked (MAC, increasing seq, energy not
 * decreasing) before the driver sees it; rejected readings are kept apart; the receipt counts only with a valid MAC
 * and, where it carries the pile's OCMF record (PROTOCOL §8a), a signature that verifies under the credential's
 * signKey over the session's ticket, charge point and energy.
 */
import {
  checkReceiptOcmf,
  type MeterRejection,
  type OfferBody,
  type ReceiptBody,
  type SessionEnd,
  type SessionKeys,
  type VehicleCredential,
  VehicleSession,
  type VerifiedMeter,
} from '../../shared/index.js';
import { TypedEmitter } from './emitter.js';

/** Why a reading or the receipt was refused: a check of §8, or BAD_OCMF for a receipt whose §8a record fails. */
export type RejectionCode = MeterRejection | 'BAD_OCMF';

export interface RejectedMeter {
  code: RejectionCode;
  message: string;
  at: number;
}

export interface VerifiedReceipt {
  sid: string;
  pid: string;
  connector: number;
  receipt: ReceiptBody;
  /** the signed message as received, so the receipt can be checked again later */
  message: SessionEnd;
  /** the pile's OCMF record (PROTOCOL §8a), the text the driver can hand to anyone; absent if the pile sent none */
  ocmf?: string;
  /** whether `ocmf` verified under the pile's signKey from the credential (false: no record, or no key to check it) */
  signedByCharger: boolean;
}

export interface ChargingSessionEvents {
  meter: VerifiedMeter;
  'meter-rejected': RejectedMeter;
  ended: VerifiedReceipt;
}

const MAX_KEPT_METERS = 20_000;
/** Rejected readings carry no valid MAC, so anyone able to publish with the sid could send them: keep the last few. */
const MAX_KEPT_REJECTED = 100;

export class ChargingSession extends TypedEmitter<ChargingSessionEvents> {
  readonly sid: string;
  readonly pid: string;
  readonly vid: string;
  readonly connector: number;
  readonly offer: OfferBody;
  readonly startedAt: number;
  /** verified readings, oldest first */
  readonly meters: VerifiedMeter[] = [];
  /** the latest rejected readings (at most MAX_KEPT_REJECTED); rejectedCount counts them all */
  readonly rejected: RejectedMeter[] = [];
  rejectedCount = 0;
  receipt?: VerifiedReceipt;
  /** resolves with the verified receipt whenever the session ends (stop, cap, unplug, fault, restart) */
  readonly ended: Promise<VerifiedReceipt>;
  private readonly verifier: VehicleSession;
  private readonly publish: (topic: string, payload: string) => void;
  private readonly now: () => number;
  /** the credential the session was authorised with: its tid and signKey are what the receipt must show */
  private readonly credential?: Pick<VehicleCredential, 'tid' | 'signKey'>;
  private resolveEnded!: (receipt: VerifiedReceipt) => void;

  constructor(
    keys: SessionKeys,
    options: {
      publish: (topic: string, payload: string) => void;
      now: () => number;
      credential?: Pick<VehicleCredential, 'tid' | 'signKey'>;
    },
  ) {
    super();
    this.sid = keys.sid;
    this.pid = keys.pid;
    this.vid = keys.vid;
    this.connector = keys.connector;
    this.offer = keys.offer;
    this.verifier = new VehicleSession(keys);
    this.publish = options.publish;
    this.now = options.now;
    if (options.credential) this.credential = options.credential;
    this.startedAt = options.now();
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  get lastMeter(): VerifiedMeter | undefined {
    return this.meters[this.meters.length - 1];
  }

  get isEnded(): boolean {
    return this.receipt !== undefined;
  }

  /** Handles a payload from vehicles/{vid}/session addressed to this session. */
  receive(payload: Uint8Array | string): void {
    if (this.receipt) return;
    const event = this.verifier.receive(payload);
    switch (event.kind) {
      case 'meter':
        this.meters.push(event.meter);
        if (this.meters.length > MAX_KEPT_METERS) this.meters.shift();
        this.emit('meter', event.meter);
        break;
      case 'meter-rejected':
      case 'end-rejected':
        this.reject(event.code, event.message);
        break;
      case 'ended': {
        const signed = this.checkOcmf(event.receipt);
        if (!signed.ok) {
          // like a forged reading: shown as refused, never counted; the pile's stored receipt is the same
          this.reject('BAD_OCMF', `receipt OCMF record refused: ${signed.message}`);
          break;
        }
        this.receipt = {
          sid: this.sid,
          pid: this.pid,
          connector: this.connector,
          receipt: event.receipt,
          message: event.receiptMessage,
          ...(event.receipt.ocmf !== undefined ? { ocmf: event.receipt.ocmf } : {}),
          signedByCharger: signed.verified,
        };
        this.emit('ended', this.receipt);
        this.resolveEnded(this.receipt);
        break;
      }
      case 'ignored':
        break;
    }
  }

  private reject(code: RejectionCode, message: string): void {
    const rejected = { code, message, at: this.now() };
    this.rejected.push(rejected);
    if (this.rejected.length > MAX_KEPT_REJECTED) this.rejected.shift();
    this.rejectedCount += 1;
    this.emit('meter-rejected', rejected);
  }

  /**
   * PROTOCOL §8a: a receipt's OCMF record must verify under the credential's signKey and show this session's
   * ticket, charge point and energy. Without a record, or with a credential that has no signKey (revision 1),
   * there is nothing to check: the receipt stands on its MAC alone.
   */
  private checkOcmf(receipt: ReceiptBody): { ok: true; verified: boolean } | { ok: false; message: string } {
    const signKey = this.credential?.signKey;
    if (receipt.ocmf === undefined || signKey === undefined || !this.credential)
      return { ok: true, verified: false };
    const checked = checkReceiptOcmf(receipt.ocmf, {
      signKey,
      tid: this.credential.tid,
      pid: this.pid,
      connector: this.connector,
      wh: receipt.wh,
    });
    return checked.ok ? { ok: true, verified: true } : { ok: false, message: checked.message };
  }

  /**
   * Asks the pile to stop and resolves with the verified receipt. The stop is sent again (new seq, new MAC)
   * every `retryMs` until the receipt arrives, because a stop or its receipt may be lost in a reconnect.
   */
  async stop(options: { timeoutMs?: number; retryMs?: number } = {}): Promise<VerifiedReceipt> {
    if (this.receipt) return this.receipt;
    const timeoutMs = options.timeoutMs ?? 15_000;
    const retryMs = options.retryMs ?? 2_000;
    const send = () => {
      const stop = this.verifier.stop();
      this.publish(stop.topic, stop.payload);
    };
    send();
    const retry = setInterval(send, retryMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.ended,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no receipt from pile ${this.pid} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearInterval(retry);
      clearTimeout(timer);
    }
  }
}
