/**
 * VehicleClient: the vehicle's whole protocol side over one MQTT connection (browser or Node).
 * See index.ts for the documented API.
 */
import mqtt, { type MqttClient } from 'mqtt';
import {
  b64uDecode,
  buildCredentialRequest,
  type Clock,
  type CredentialDenialCode,
  CredentialDenied,
  type CredentialFailureCode,
  type DirectoryEntry,
  DirectoryEntry as DirectoryEntrySchema,
  deriveSealKey,
  deriveVehicleMacKey,
  type GatewayStatus,
  GatewayStatus as GatewayStatusSchema,
  mqttClientLog,
  mqttFailover,
  type OfferBody,
  openCredential,
  type PileStatus,
  PileStatus as PileStatusSchema,
  parseJsonObject,
  parseTopic,
  type RandomSource,
  type SessionKeys,
  secureRandom,
  topics,
  unixSeconds,
  type VehicleCredential,
  type VehicleProvisioning,
  validateMessage,
} from '../../shared/index.js';
import { ChargingSession } from './charging.js';
import { TypedEmitter } from './emitter.js';
import { type AuthenticateOptions, type AuthOutcome, type AuthStep, runHandshake } from './handshake.js';
import { type CredentialStore, MemoryCredentialStore } from './store.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface CredentialChange {
  pid: string;
  credential: VehicleCredential | undefined;
  reason: 'loaded' | 'received' | 'withdrawn';
}

export interface VehicleClientEvents {
  connection: { state: ConnectionState; error?: string };
  directory: { pid: string; entry: DirectoryEntry | undefined };
  'pile-status': { pid: string; status: PileStatus | undefined };
  'gateway-status': { gid: string; status: GatewayStatus | undefined };
  credential: CredentialChange;
  'credential-denied': { pid: string; code: CredentialDenialCode };
  'auth-step': AuthStep;
  session: ChargingSession;
}

export interface VehicleClientOptions {
  provisioning: VehicleProvisioning;
  /**
   * the broker's URL, or every node of a cluster in order of preference (the client fails over along them);
   * defaults to provisioning.mqtt.urls, else its url (a browser passes wsUrls, else wsUrl)
   */
  mqttUrl?: string | readonly string[];
  store?: CredentialStore;
  now?: Clock;
  random?: RandomSource;
  /** PROTOCOL §6: the vehicle gives up on a step after 5 s */
  stepTimeoutMs?: number;
  reconnectPeriodMs?: number;
}

/** A credential error with a code the UI can show. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    readonly code: CredentialFailureCode,
    message: string,
  ) {
    super(message);
  }
}

export class VehicleClient extends TypedEmitter<VehicleClientEvents> {
  readonly vid: string;
  readonly directory = new Map<string, DirectoryEntry>();
  readonly pileStatus = new Map<string, PileStatus>();
  readonly gatewayStatus = new Map<string, GatewayStatus>();
  readonly credentials = new Map<string, VehicleCredential>();
  /** open charging sessions by sid */
  readonly sessions = new Map<string, ChargingSession>();
  connectionState: ConnectionState = 'offline';
  readonly now: Clock;
  readonly random: RandomSource;
  readonly stepTimeoutMs: number;
  private readonly options: VehicleClientOptions;
  private readonly store: CredentialStore;
  private readonly sealKey: Uint8Array;
  private readonly macKey: Uint8Array;
  private client?: MqttClient;
  /** handlers of vehicles/{vid}/auth payloads, one per running handshake */
  private readonly authListeners = new Set<(payload: Uint8Array) => void>();

  constructor(options: VehicleClientOptions) {
    super();
    this.options = options;
    this.vid = options.provisioning.vid;
    this.store = options.store ?? new MemoryCredentialStore();
    this.now = options.now ?? Date.now;
    this.random = options.random ?? secureRandom;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 5000;
    const vehicleKey = b64uDecode(options.provisioning.vehicleKey);
    this.sealKey = deriveSealKey(vehicleKey, this.vid);
    this.macKey = deriveVehicleMacKey(vehicleKey, this.vid);
  }

  private setState(state: ConnectionState, error?: string): void {
    if (state === this.connectionState && !error) return;
    this.connectionState = state;
    this.emit('connection', error ? { state, error } : { state });
  }

  /** Loads stored credentials, then connects; resolves on the first connection (rejects if login fails). */
  async start(): Promise<void> {
    for (const stored of await this.store.list(this.vid)) {
      const opened = openCredential(this.sealKey, stored.topic, stored.sealed);
      if (opened.ok && opened.value.pid === stored.pid) {
        this.credentials.set(stored.pid, opened.value);
        this.emit('credential', { pid: stored.pid, credential: opened.value, reason: 'loaded' });
      }
    }
    const { provisioning } = this.options;
    this.setState('connecting');
    const failover = mqttFailover(this.options.mqttUrl ?? provisioning.mqtt.urls ?? provisioning.mqtt.url);
    const client = mqtt.connect(failover.url, {
      username: provisioning.mqtt.username,
      password: provisioning.mqtt.password,
      clientId: `vehicle-${this.vid}-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 500,
      connectTimeout: 5000,
      // In the browser there is no process: mqtt.js's debug output stays off there.
      log: mqttClientLog(typeof process === 'undefined' ? undefined : process.env.DEBUG),
      // the next node on each reconnect, also after a node refused the CONNECT
      ...failover.options,
    });
    this.client = client;
    client.on('message', (topic, payload) => this.route(topic, payload));
    client.on('reconnect', () => this.setState('reconnecting'));
    client.on('offline', () => this.setState('offline'));
    client.on('close', () => {
      if (this.connectionState === 'connected') this.setState('reconnecting');
    });
    await new Promise<void>((resolve, reject) => {
      let first = true;
      client.on('connect', () => {
        // Node only (no-op in a browser): QoS-1 round trips otherwise stall on Nagle + delayed ACK.
        (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        const subscriptions = {
          [topics.vehicleAll(this.vid)]: { qos: 1 as const },
          [topics.directoryAll()]: { qos: 1 as const },
          [topics.allPileStatus()]: { qos: 1 as const },
          [topics.allGatewayStatus()]: { qos: 1 as const },
        };
        client.subscribe(subscriptions, (error) => {
          if (error) this.emit('connection', { state: this.connectionState, error: error.message });
          this.setState('connected');
          if (first) {
            first = false;
            resolve();
          }
        });
      });
      client.on('error', (error) => {
        this.emit('connection', { state: this.connectionState, error: error.message });
        // A refused login will not get better by retrying (every node of a cluster has the same logins).
        if (/Not authorized|Bad username/i.test(error.message)) {
          client.end(true);
          this.setState('closed', error.message);
          if (first)
            reject(new CredentialError('MQTT_LOGIN_REFUSED', `broker refused login: ${error.message}`));
          first = false;
        }
      });
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    // Flush queued messages when connected; never hang on a broker that is gone.
    if (client) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => client.end(true, {}, () => resolve()), client.connected ? 1000 : 0);
        client.end(!client.connected, {}, () => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    this.setState('closed');
  }

  /** QoS-1 publish; queued by mqtt.js while reconnecting. */
  publish(topic: string, payload: string): void {
    this.client?.publish(topic, payload, { qos: 1, retain: false });
  }

  private route(topic: string, payload: Uint8Array): void {
    const t = parseTopic(topic);
    if (!t) return;
    switch (t.kind) {
      case 'vehicleAuth':
        for (const listener of [...this.authListeners]) listener(payload);
        return;
      case 'vehicleSession':
        this.routeSession(payload);
        return;
      case 'credential':
        if (t.vid === this.vid) void this.onCredential(t.pid, topic, payload);
        return;
      case 'vehicleCloud': {
        const denied = decodeJson(payload, CredentialDenied);
        if (denied) this.emit('credential-denied', { pid: denied.pid, code: denied.code });
        return;
      }
      case 'directoryPile':
        this.updateMap(this.directory, t.pid, payload, DirectoryEntrySchema, (entry) =>
          this.emit('directory', { pid: t.pid, entry }),
        );
        return;
      case 'pileStatus':
        this.updateMap(this.pileStatus, t.pid, payload, PileStatusSchema, (status) =>
          this.emit('pile-status', { pid: t.pid, status }),
        );
        return;
      case 'gatewayStatus':
        this.updateMap(this.gatewayStatus, t.gid, payload, GatewayStatusSchema, (status) =>
          this.emit('gateway-status', { gid: t.gid, status }),
        );
        return;
      default:
        return;
    }
  }

  private updateMap<T>(
    map: Map<string, T>,
    key: string,
    payload: Uint8Array,
    schema: Parameters<typeof validateMessage>[0],
    notify: (value: T | undefined) => void,
  ): void {
    // An empty retained payload clears the entry.
    if (payload.length === 0) {
      map.delete(key);
      notify(undefined);
      return;
    }
    const value = decodeJson(payload, schema) as T | undefined;
    if (value === undefined) return;
    map.set(key, value);
    notify(value);
  }

  private routeSession(payload: Uint8Array): void {
    const json = parseJsonObject(payload);
    if (!json.ok || typeof json.value.sid !== 'string') return;
    const session = this.sessions.get(json.value.sid);
    if (!session) return;
    session.receive(payload);
    if (session.isEnded) this.sessions.delete(session.sid);
  }

  private async onCredential(pid: string, topic: string, payload: Uint8Array): Promise<void> {
    if (payload.length === 0) {
      // The cloud withdrew it (revocation, entitlement removed).
      const had = this.credentials.delete(pid);
      await this.store.delete(this.vid, pid);
      if (had) this.emit('credential', { pid, credential: undefined, reason: 'withdrawn' });
      return;
    }
    const sealed = new TextDecoder().decode(payload);
    const opened = openCredential(this.sealKey, topic, sealed);
    if (!opened.ok) return;
    this.credentials.set(pid, opened.value);
    await this.store.put(this.vid, { pid, topic, sealed });
    this.emit('credential', { pid, credential: opened.value, reason: 'received' });
  }

  /** A stored credential for the pile that has not expired. */
  usableCredential(pid: string): VehicleCredential | undefined {
    const credential = this.credentials.get(pid);
    if (!credential) return undefined;
    return credential.exp >= unixSeconds(this.now()) ? credential : undefined;
  }

  /**
   * Asks the cloud for a credential for `pid` (PROTOCOL §5). Resolves when a fresh one arrives; rejects with a
   * CredentialError carrying the cloud's denial code, or TIMEOUT.
   */
  requestCredential(pid: string, options: { timeoutMs?: number } = {}): Promise<VehicleCredential> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const previous = this.credentials.get(pid);
      const done = (fn: () => void) => {
        offCredential();
        offDenied();
        clearTimeout(timer);
        fn();
      };
      const offCredential = this.on('credential', (change) => {
        if (change.pid === pid && change.credential && change.credential !== previous) {
          const credential = change.credential;
          done(() => resolve(credential));
        }
      });
      const offDenied = this.on('credential-denied', (denied) => {
        if (denied.pid === pid) {
          done(() =>
            reject(
              new CredentialError(denied.code, `the cloud denied a credential for ${pid}: ${denied.code}`),
            ),
          );
        }
      });
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new CredentialError('TIMEOUT', `no credential for ${pid} within ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      const request = buildCredentialRequest(
        this.macKey,
        this.vid,
        pid,
        unixSeconds(this.now()),
        this.random,
      );
      this.publish(topics.credentialRequests(), JSON.stringify(request));
    });
  }

  /**
   * Authenticates at a pile's connector (PROTOCOL §6): uses a stored credential or requests one, checks the
   * pile's proof, lets `confirmOffer` accept the offer, and on success returns the started ChargingSession.
   * Every step is reported through `onStep` and the 'auth-step' event, with its time.
   */
  async authenticate(
    pid: string,
    connector: number,
    options: AuthenticateOptions = {},
  ): Promise<AuthOutcome> {
    const hooks = {
      subscribeAuth: (listener: (payload: Uint8Array) => void) => {
        this.authListeners.add(listener);
        return () => this.authListeners.delete(listener);
      },
      step: (step: AuthStep) => this.emit('auth-step', step),
      startSession: (keys: SessionKeys, credential: VehicleCredential) => {
        const session = new ChargingSession(keys, {
          publish: (topic, payload) => this.publish(topic, payload),
          now: this.now,
          credential,
        });
        this.sessions.set(session.sid, session);
        this.emit('session', session);
        return session;
      },
    };
    // PROTOCOL §6: after a step timed out the vehicle may try again, with a new sid and a new r1.
    let outcome = await runHandshake(this, pid, connector, options, hooks);
    for (
      let retry = 0;
      retry < (options.retries ?? 0) && !outcome.ok && outcome.code === 'TIMEOUT';
      retry++
    ) {
      const earlier = outcome.steps;
      outcome = await runHandshake(this, pid, connector, options, hooks);
      outcome.steps.unshift(...earlier);
    }
    return outcome;
  }
}

function decodeJson<S extends Parameters<typeof validateMessage>[0]>(payload: Uint8Array, schema: S) {
  const json = parseJsonObject(payload);
  if (!json.ok) return undefined;
  const value = validateMessage(schema, json.value);
  return value.ok ? value.value : undefined;
}

export type { OfferBody };
