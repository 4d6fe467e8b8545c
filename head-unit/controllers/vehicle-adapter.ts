/**
 * The VehiclePort over head-unit/vehicle's VehicleClient. The app imports this module lazily: it carries
 * mqtt.js and the protocol crypto, so the first screen renders before they have loaded.
 */
import type { VehicleProvisioning } from '../../shared/index.js';
import { IdbCredentialStore } from '../state/idb-credential-store.js';
import {
  type AuthStepName,
  type ChargingSession,
  type ConnectionState as ClientConnectionState,
  CredentialError,
  type CredentialStore,
  VehicleClient,
  type VerifiedReceipt,
} from '../vehicle/index.js';
import type {
  AuthCallbacks,
  AuthOutcome,
  AuthStep,
  ChargingEvent,
  ChargingSessionPort,
  ConnectionState,
  CredentialRequestOutcome,
  CredentialSummary,
  PileInfo,
  VehiclePort,
} from './vehicle-port.js';

const STEP_OF: Partial<Record<AuthStepName, AuthStep>> = {
  credential: 'credential',
  'request-sent': 'requested',
  'pile-verified': 'verified',
  offer: 'offered',
  authorized: 'authorized',
};

const CONNECTION_OF: Record<ClientConnectionState, ConnectionState> = {
  connecting: 'connecting',
  connected: 'online',
  reconnecting: 'reconnecting',
  offline: 'offline',
  closed: 'offline',
};

/** The UI's view of a receipt the core accepted (its MAC and, where it carries one, its OCMF record). */
function endedEvent(r: VerifiedReceipt): ChargingEvent {
  return {
    kind: 'ended',
    receipt: r.receipt,
    receiptText: JSON.stringify(r.message),
    ocmf: r.ocmf,
    signedByCharger: r.signedByCharger,
    at: Date.now(),
  };
}

function sessionPort(session: ChargingSession): ChargingSessionPort {
  return {
    sid: session.sid,
    pid: session.pid,
    connector: session.connector,
    offer: session.offer,
    subscribe(listener: (event: ChargingEvent) => void) {
      // Replay what arrived before the UI subscribed (the first meter can follow auth.result at once).
      for (const m of session.meters)
        listener({ kind: 'meter', seq: m.seq, reading: m.reading, at: Date.now() });
      for (const r of session.rejected) listener({ kind: 'meter-rejected', ...r });
      if (session.receipt) listener(endedEvent(session.receipt));
      const offs = [
        session.on('meter', (m) =>
          listener({ kind: 'meter', seq: m.seq, reading: m.reading, at: Date.now() }),
        ),
        session.on('meter-rejected', (r) => listener({ kind: 'meter-rejected', ...r })),
        session.on('ended', (r) => listener(endedEvent(r))),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    async stop() {
      await session.stop();
    },
  };
}

export class VehicleClientPort implements VehiclePort {
  private client: VehicleClient;
  private readonly listeners = new Set<() => void>();
  private offs: (() => void)[] = [];
  private readonly store: CredentialStore;

  constructor(readonly provisioning: VehicleProvisioning) {
    this.store = new IdbCredentialStore();
    this.client = this.createClient();
  }

  private createClient(): VehicleClient {
    const client = new VehicleClient({
      provisioning: this.provisioning,
      // every node of a cluster, in order (PROTOCOL §11 revision 2), else the one broker
      mqttUrl: this.provisioning.mqtt.wsUrls ?? this.provisioning.mqtt.wsUrl,
      store: this.store,
    });
    const changed = () => this.changed();
    this.offs = [
      client.on('connection', changed),
      client.on('directory', changed),
      client.on('pile-status', changed),
      client.on('gateway-status', changed),
      client.on('credential', changed),
    ];
    client.start().catch(() => this.changed());
    return client;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  get connection(): ConnectionState {
    return CONNECTION_OF[this.client.connectionState];
  }

  piles(): PileInfo[] {
    const pids = new Set([...this.client.directory.keys(), ...this.client.pileStatus.keys()]);
    return [...pids].sort().map((pid) => this.pile(pid)!);
  }

  pile(pid: string): PileInfo | undefined {
    const directory = this.client.directory.get(pid);
    const status = this.client.pileStatus.get(pid);
    if (!directory && !status) return undefined;
    const gid = status?.gid;
    const gatewayOnline = gid ? this.client.gatewayStatus.get(gid)?.online : undefined;
    return { pid, directory, status, gatewayOnline };
  }

  credential(pid: string): CredentialSummary | undefined {
    const c = this.client.credentials.get(pid);
    return c ? { pid, tid: c.tid, exp: c.exp } : undefined;
  }

  async requestCredential(pid: string): Promise<CredentialRequestOutcome> {
    try {
      await this.client.requestCredential(pid);
      return { ok: true };
    } catch (error) {
      return { ok: false, code: error instanceof CredentialError ? error.code : 'INTERNAL' };
    }
  }

  async authenticate(pid: string, connector: number, callbacks: AuthCallbacks): Promise<AuthOutcome> {
    const outcome = await this.client.authenticate(pid, connector, {
      confirmOffer: (offer) => callbacks.confirmOffer(offer),
      onStep: (s) => {
        const step = STEP_OF[s.step];
        if (step) callbacks.onStep(step, s.at);
      },
    });
    if (outcome.ok) return { ok: true, session: sessionPort(outcome.session) };
    return { ok: false, code: outcome.code, message: outcome.message, authenticated: outcome.authenticated };
  }

  reconnect(): void {
    // The driver asked for a fresh attempt now: replace the client (it reloads cached credentials). With a
    // charging session open the client is kept, since it holds that session's keys; mqtt.js is already
    // retrying every 500 ms then.
    if (this.client.connectionState === 'connected' || this.client.sessions.size > 0) return;
    for (const off of this.offs) off();
    void this.client.close();
    this.client = this.createClient();
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    this.listeners.clear();
    await this.client.close();
  }
}

export function createVehiclePort(provisioning: VehicleProvisioning): VehiclePort {
  return new VehicleClientPort(provisioning);
}
