/**
 * What the UI needs from the vehicle client, in the UI's own terms. The adapter over head-unit/vehicle's
 * VehicleClient (vehicle-adapter.ts) is the one place that knows the client's API, so the elements and
 * controllers stay the same if that API moves.
 */
import type {
  CredentialFailureCode,
  DirectoryEntry,
  MeterBody,
  OfferBody,
  PileStatus,
  ReceiptBody,
  VehicleProvisioning,
} from '../../shared/index.js';

export type ConnectionState = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface PileInfo {
  pid: string;
  directory?: DirectoryEntry;
  status?: PileStatus;
  /** false when the pile's gateway announced it is offline */
  gatewayOnline?: boolean;
}

export interface CredentialSummary {
  pid: string;
  tid: string;
  /** unix seconds */
  exp: number;
}

export type AuthStep = 'credential' | 'requested' | 'verified' | 'offered' | 'authorized';

export interface AuthCallbacks {
  /** each step as it completes, with its time (ms since the epoch) */
  onStep(step: AuthStep, at: number): void;
  /** the opened offer; resolve true to accept (send auth.response), false to decline */
  confirmOffer(offer: OfferBody): Promise<boolean>;
}

export type ChargingEvent =
  | { kind: 'meter'; seq: number; reading: MeterBody; at: number }
  | { kind: 'meter-rejected'; code: string; message: string; at: number }
  | {
      kind: 'ended';
      receipt: ReceiptBody;
      receiptText: string;
      /** the pile's signed OCMF record (§8a); absent from a revision-1 receipt */
      ocmf?: string;
      /** true when `ocmf` verified under the pile's key from the credential */
      signedByCharger: boolean;
      at: number;
    };

export interface ChargingSessionPort {
  sid: string;
  pid: string;
  connector: number;
  offer: OfferBody;
  /** subscribe to verified meters, rejected readings and the signed receipt; returns unsubscribe */
  subscribe(listener: (event: ChargingEvent) => void): () => void;
  /** sends session.stop */
  stop(): Promise<void>;
}

export type AuthOutcome =
  | { ok: true; session: ChargingSessionPort }
  | { ok: false; code: string; message: string; authenticated: boolean };

export type CredentialRequestOutcome = { ok: true } | { ok: false; code: CredentialFailureCode };

export interface VehiclePort {
  readonly provisioning: VehicleProvisioning;
  readonly connection: ConnectionState;
  piles(): PileInfo[];
  pile(pid: string): PileInfo | undefined;
  credential(pid: string): CredentialSummary | undefined;
  requestCredential(pid: string): Promise<CredentialRequestOutcome>;
  authenticate(pid: string, connector: number, callbacks: AuthCallbacks): Promise<AuthOutcome>;
  reconnect(): void;
  /** any of the above changed; returns unsubscribe */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}
