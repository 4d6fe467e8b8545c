/**
 * The Dolev-Yao attacker as MQTT clients of the real broker. With a vehicle login ('vehicle' mode) it sees only its
 * own vehicle's topics and what its own vehicle client sends, and publishes on piles' auth topics. With a gateway's
 * rights as well ('network' mode: a hostile network path) it also sees every piles/{pid}/auth of that gateway and
 * publishes on vehicles/+/auth and vehicles/+/session. It records all it sees, and spends a bounded budget of
 * messages chosen by a seeded source (mutations.ts), within the broker's per-connection publish rate.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { VehicleClient, type VehicleClientOptions } from '../../head-unit/vehicle/index.js';
import {
  b64uEncode,
  parseJsonObject,
  parseTopic,
  topics,
  type VehicleCredential,
  type VehicleProvisioning,
} from '../../shared/index.js';
import { testClientId } from '../support/mqtt.js';
import {
  type AttackContext,
  type Injection,
  type Message,
  type Observed,
  OPERATORS,
  raceRequest,
  SID_TOKEN,
} from './mutations.js';
import type { Seeded } from './seeded.js';

export type AttackerMode = 'vehicle' | 'network';

export interface AttackerOptions {
  mode: AttackerMode;
  rng: Seeded;
  /** messages it may publish in this run */
  budget: number;
  mqttUrl: string;
  /** its own vehicle login */
  vehicle: VehicleProvisioning;
  ownCredential: VehicleCredential | undefined;
  piles: readonly string[];
  victims: readonly string[];
  /** 'network' mode: the gateway login whose rights it holds (a second connection, its own client id) */
  gateway?: { gid: string; username: string; password: string };
  /** 'network' mode: chance to answer a victim's auth.request the moment it goes by */
  raceChance?: number;
}

/** Pile-bound sends the main loop leaves room for, so a race is rarely dropped for the rate. */
const LOOP_PILE_PUBLISHES_PER_SECOND = 5;

/** The broker allows 10 a second per vehicle connection (burst 20) and closes one that goes over: stay below. */
const PILE_PUBLISHES_PER_SECOND = 8;
const SEEN_KEPT = 400;
/** who asks to publish: the main loop may wait for the rate window, a race may not */
const LOOP = 'loop';
const RACE = 'race';

/** A vehicle client that tells the attacker everything it sends (the attacker's own genuine sessions). */
export class RecordingVehicleClient extends VehicleClient {
  readonly sent: Observed[] = [];

  constructor(options: VehicleClientOptions) {
    super(options);
  }

  override publish(topic: string, payload: string): void {
    this.sent.push({ topic, text: payload, message: parse(payload) });
    if (this.sent.length > SEEN_KEPT) this.sent.splice(0, this.sent.length - SEEN_KEPT);
    super.publish(topic, payload);
  }
}

function parse(text: string | Uint8Array): Message | undefined {
  const json = parseJsonObject(typeof text === 'string' ? new TextEncoder().encode(text) : text);
  return json.ok ? (json.value as Message) : undefined;
}

export class Attacker {
  readonly seen: Observed[] = [];
  /** every 16-byte token (sid, r1, r3) that appeared in what it published: the genuine sessions it attacked */
  readonly targeted = new Set<string>();
  /** how many of each operation it performed */
  readonly ops = new Map<string, number>();
  sent = 0;
  private readonly pileSendTimes: number[] = [];
  private readonly held: Injection[] = [];
  private own?: RecordingVehicleClient;
  /** 'network' mode: the victim it tries to lock out (a wrong proof for every request of it that it sees) */
  readonly focus: string | undefined;

  private constructor(
    private readonly options: AttackerOptions,
    private readonly vehicleConn: MqttClient,
    private readonly gatewayConn: MqttClient | undefined,
  ) {
    this.focus = options.mode === 'network' ? options.rng.pick(options.victims) : undefined;
    vehicleConn.on('message', (topic, payload) => this.observe(topic, payload));
    gatewayConn?.on('message', (topic, payload) => this.observe(topic, payload, true));
  }

  static async connect(options: AttackerOptions): Promise<Attacker> {
    const { vehicle } = options;
    const vehicleConn = await mqtt.connectAsync(options.mqttUrl, {
      clientId: testClientId(vehicle.mqtt.username),
      username: vehicle.mqtt.username,
      password: vehicle.mqtt.password,
      reconnectPeriod: 200,
    });
    (vehicleConn.stream as net.Socket).setNoDelay?.(true);
    await vehicleConn.subscribeAsync(topics.vehicleAll(vehicle.vid), { qos: 1 });
    await vehicleConn.subscribeAsync(topics.allPileStatus(), { qos: 1 });
    let gatewayConn: MqttClient | undefined;
    if (options.mode === 'network') {
      const gw = options.gateway;
      if (!gw) throw new Error('network mode needs a gateway login');
      // Its own client id under the gateway's prefix: the real gateway's connection is left alone.
      gatewayConn = await mqtt.connectAsync(options.mqttUrl, {
        clientId: testClientId(gw.username),
        username: gw.username,
        password: gw.password,
        reconnectPeriod: 200,
      });
      (gatewayConn.stream as net.Socket).setNoDelay?.(true);
      for (const pid of options.piles) await gatewayConn.subscribeAsync(topics.pileAuth(pid), { qos: 1 });
    }
    return new Attacker(options, vehicleConn, gatewayConn);
  }

  /** Its own vehicle client's sends become material too. */
  watchOwnVehicle(client: RecordingVehicleClient): void {
    this.own = client;
  }

  private observe(topic: string, payload: Buffer, onPath = false): void {
    const text = payload.toString();
    const message = parse(payload);
    this.remember({ topic, text, message });
    if (!onPath || !message || message.type !== 'auth.request') return;
    // A victim's request just went by: its sid is pending at the pile for the next few milliseconds.
    if (!this.options.victims.includes(String(message.vid)) || this.sent >= this.options.budget) return;
    const sid = message.sid;
    if (message.vid === this.focus && typeof sid === 'string') {
      const proof = b64uEncode(this.options.rng.bytes(32));
      const payload = JSON.stringify({ v: 1, type: 'auth.response', sid, proof });
      void this.inject({ op: 'race:lockout', topic, payload }, RACE);
    } else if (this.options.rng.chance(this.options.raceChance ?? 0.5)) {
      void this.inject(raceRequest(this.context(), { topic, text, message }), RACE);
    }
  }

  private remember(o: Observed): void {
    this.seen.push(o);
    if (this.seen.length > SEEN_KEPT) this.seen.splice(0, this.seen.length - SEEN_KEPT);
  }

  private context(): AttackContext {
    return {
      rng: this.options.rng,
      piles: this.options.piles,
      victims: this.options.victims,
      ownVid: this.options.vehicle.vid,
      ownCredential: this.options.ownCredential,
      reachesVehicles: this.options.mode === 'network',
      seen: [...this.seen, ...(this.own?.sent ?? [])],
      nowS: Math.floor(Date.now() / 1000),
    };
  }

  /**
   * Publishes one message. On piles' topics it keeps within the broker's rate: the main loop waits for room below
   * its share; a race cannot wait and is dropped when even the full rate is spent.
   */
  private async inject(injection: Injection, from: typeof LOOP | typeof RACE = LOOP): Promise<void> {
    if (this.sent >= this.options.budget) return;
    const toPile = parseTopic(injection.topic)?.kind === 'pileAuth';
    if (toPile) {
      const share = from === LOOP ? LOOP_PILE_PUBLISHES_PER_SECOND : PILE_PUBLISHES_PER_SECOND;
      for (;;) {
        const now = Date.now();
        while (this.pileSendTimes.length > 0 && this.pileSendTimes[0]! <= now - 1000)
          this.pileSendTimes.shift();
        if (this.pileSendTimes.length < share) break;
        if (from === RACE) return;
        await new Promise((r) => setTimeout(r, this.pileSendTimes[0]! + 1001 - now));
      }
      this.pileSendTimes.push(Date.now());
    }
    if (this.sent >= this.options.budget) return;
    this.sent++;
    this.ops.set(injection.op, (this.ops.get(injection.op) ?? 0) + 1);
    for (const token of injection.payload.match(SID_TOKEN) ?? []) this.targeted.add(token);
    // It knows what it sent (a made-up request's sid, say): material for what it sends next.
    if (!this.gatewayConn || !toPile)
      this.remember({ topic: injection.topic, text: injection.payload, message: parse(injection.payload) });
    const conn = toPile ? this.vehicleConn : this.gatewayConn;
    conn?.publish(injection.topic, injection.payload, { qos: 1 });
  }

  /**
   * Spends the budget: one operation every 20-120 ms, some held back and sent later out of order, some sent twice,
   * until the budget is spent and `genuineDone` holds (or `maxMs` passed).
   */
  async attack(genuineDone: () => boolean, maxMs: number): Promise<void> {
    const { rng, budget } = this.options;
    const end = Date.now() + maxMs;
    while (Date.now() < end && (this.sent < budget || !genuineDone())) {
      await new Promise((r) => setTimeout(r, rng.int(20, 120)));
      if (this.sent >= budget) continue;
      if (this.held.length > 0 && rng.chance(0.3)) {
        const [released] = this.held.splice(rng.int(0, this.held.length - 1), 1);
        await this.inject({ ...released!, op: `reorder:${released!.op}` });
        continue;
      }
      const injection = rng.pick(OPERATORS)(this.context());
      if (!injection) continue;
      if (rng.chance(0.15)) {
        this.held.push(injection);
        continue;
      }
      await this.inject(injection);
      if (rng.chance(0.1)) await this.inject({ ...injection, op: `duplicate:${injection.op}` });
    }
    for (const injection of this.held.splice(0))
      await this.inject({ ...injection, op: `reorder:${injection.op}` });
  }

  async close(): Promise<void> {
    await this.vehicleConn.endAsync();
    await this.gatewayConn?.endAsync();
  }
}
