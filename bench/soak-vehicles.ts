/**
 * The soak's drivers: vehicles on their own MQTT connections running whole sessions with the shared state
 * machines, retrying what PROTOCOL §6 lets a vehicle retry, and counting how each session ended.
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { nodeCryptoBackend } from '../node/crypto.js';
import { installCryptoBackend } from '../shared/crypto/backend.js';
import {
  b64uDecode,
  secureRandom,
  topics,
  type VehicleCredential,
  VehicleHandshake,
  VehicleSession,
} from '../shared/index.js';
import type { Fleet } from './lib/system.js';
import { issueBenchCredential } from './loadgen/credentials.js';
import type { WorkerPile } from './loadgen/messages.js';

installCryptoBackend(nodeCryptoBackend);

export interface SoakCounts {
  started: number;
  completed: number;
  /** ended with a definite answer the driver sees (e.g. RATE_LIMITED after all retries) */
  refused: number;
  lost: number;
  open: number;
  retries: number;
  stopResends: number;
  /** receipts that closed a session because the gateway restarted under it */
  restartReceipts: number;
}

const SESSION_DEADLINE_MS = 90_000;
const STEP_TIMEOUT_MS = 5000;

interface Slot {
  pile: WorkerPile;
  rootKey: Uint8Array;
  connector: number;
  busy: boolean;
}

interface Car {
  vid: string;
  client: MqttClient;
  credentials: Map<string, VehicleCredential>;
  /** the live handshake or session per sid */
  handlers: Map<string, (topic: string, payload: Buffer) => void>;
}

export class SoakFleet {
  readonly counts: SoakCounts = {
    started: 0,
    completed: 0,
    refused: 0,
    lost: 0,
    open: 0,
    retries: 0,
    stopResends: 0,
    restartReceipts: 0,
  };
  readonly lostDetails: string[] = [];
  private readonly slots: Slot[] = [];
  private cursor = 0;

  private constructor(
    private readonly cars: Car[],
    piles: WorkerPile[],
    private readonly holdMs: number,
  ) {
    for (const pile of piles) {
      const rootKey = b64uDecode(pile.rootKey);
      for (const connector of pile.connectors) this.slots.push({ pile, rootKey, connector, busy: false });
    }
  }

  static async connect(fleet: Fleet, url: string, holdMs: number): Promise<SoakFleet> {
    const cars = await Promise.all(
      fleet.vehicles.map(async (v) => {
        const client = mqtt.connect(url, {
          username: v.username,
          password: v.password,
          clientId: `vehicle-${v.vid}-soak`,
          reconnectPeriod: 500,
          resubscribe: true,
        });
        client.on('connect', () => (client.stream as net.Socket).setNoDelay?.(true));
        client.on('error', () => {});
        await new Promise<void>((resolve) => client.once('connect', () => resolve()));
        await client.subscribeAsync({
          [topics.vehicleAuth(v.vid)]: { qos: 1 },
          [topics.vehicleSession(v.vid)]: { qos: 1 },
        });
        const car: Car = { vid: v.vid, client, credentials: new Map(), handlers: new Map() };
        client.on('message', (topic, payload) => {
          let sid: unknown;
          try {
            sid = (JSON.parse(payload.toString()) as { sid?: unknown }).sid;
          } catch {
            return;
          }
          if (typeof sid === 'string') car.handlers.get(sid)?.(topic, payload);
        });
        return car;
      }),
    );
    return new SoakFleet(cars, fleet.piles, holdMs);
  }

  startSession(): void {
    const slot = this.freeSlot();
    if (!slot) return;
    const car = this.cars[Math.floor(Math.random() * this.cars.length)]!;
    slot.busy = true;
    this.counts.started++;
    this.counts.open++;
    void this.run(car, slot).then((outcome) => {
      this.counts.open--;
      this.counts[outcome]++;
      slot.busy = false;
    });
  }

  private freeSlot(): Slot | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.cursor + i) % this.slots.length]!;
      if (!slot.busy) {
        this.cursor = (this.cursor + i + 1) % this.slots.length;
        return slot;
      }
    }
    return undefined;
  }

  private credential(car: Car, slot: Slot): VehicleCredential {
    let c = car.credentials.get(slot.pile.pid);
    if (!c) {
      c = issueBenchCredential(car.vid, slot.pile, slot.rootKey);
      car.credentials.set(slot.pile.pid, c);
    }
    return c;
  }

  private publish(car: Car, m: { topic: string; payload: string }): void {
    car.client.publish(m.topic, m.payload, { qos: 1 }, () => {});
  }

  /** One driver's session from tap to receipt. */
  private async run(car: Car, slot: Slot): Promise<'completed' | 'refused' | 'lost'> {
    const deadline = Date.now() + SESSION_DEADLINE_MS;
    let lastCode = '';
    while (Date.now() < deadline) {
      const outcome = await this.handshake(car, slot);
      if (outcome.kind === 'authorized') return this.charge(car, outcome.session, deadline, slot);
      lastCode = outcome.code;
      // Definite refusals that a retry cannot change end the session for the driver.
      if (
        ['REVOKED', 'WRONG_PILE', 'WRONG_VEHICLE', 'UNKNOWN_KEY_OFFSET', 'PILE_NOT_AUTHENTIC'].includes(
          outcome.code,
        )
      )
        return 'refused';
      this.counts.retries++;
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (lastCode && lastCode !== 'TIMEOUT') return 'refused';
    this.lostDetails.push(`${car.vid}@${slot.pile.pid}/${slot.connector}: never authorised (${lastCode})`);
    return 'lost';
  }

  private handshake(
    car: Car,
    slot: Slot,
  ): Promise<{ kind: 'authorized'; session: VehicleSession } | { kind: 'failed'; code: string }> {
    const handshake = new VehicleHandshake({
      vid: car.vid,
      credential: this.credential(car, slot),
      connector: slot.connector,
      now: Date.now,
      random: secureRandom,
    });
    return new Promise((resolve) => {
      const done = (
        r: { kind: 'authorized'; session: VehicleSession } | { kind: 'failed'; code: string },
      ) => {
        clearTimeout(timer);
        car.handlers.delete(handshake.sid);
        resolve(r);
      };
      let timer = setTimeout(() => done({ kind: 'failed', code: 'TIMEOUT' }), STEP_TIMEOUT_MS);
      car.handlers.set(handshake.sid, (topic, payload) => {
        if (!topic.endsWith('/auth')) return;
        for (const e of handshake.receive(payload)) {
          if (e.kind === 'offer') {
            clearTimeout(timer);
            timer = setTimeout(() => done({ kind: 'failed', code: 'TIMEOUT' }), STEP_TIMEOUT_MS);
            this.publish(car, handshake.confirmOffer());
          } else if (e.kind === 'authorized')
            done({ kind: 'authorized', session: new VehicleSession(e.session) });
          else if (e.kind === 'failed') done({ kind: 'failed', code: e.code });
        }
      });
      this.publish(car, handshake.start());
    });
  }

  /** Charges, stops, and waits for the verified receipt; re-sends the stop if no receipt comes. */
  private charge(
    car: Car,
    session: VehicleSession,
    deadline: number,
    slot: Slot,
  ): Promise<'completed' | 'lost'> {
    return new Promise((resolve) => {
      let stopTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = (outcome: 'completed' | 'lost') => {
        clearTimeout(stopTimer);
        clearTimeout(deadlineTimer);
        car.handlers.delete(session.sid);
        resolve(outcome);
      };
      const deadlineTimer = setTimeout(
        () => {
          this.lostDetails.push(
            `${car.vid}@${slot.pile.pid}/${slot.connector} sid ${session.sid}: no receipt`,
          );
          finish('lost');
        },
        Math.max(1000, deadline - Date.now()),
      );
      car.handlers.set(session.sid, (topic, payload) => {
        if (!topic.endsWith('/session')) return;
        const e = session.receive(payload);
        if (e.kind === 'ended') {
          if (e.receipt.reason === 'gateway-restart') this.counts.restartReceipts++;
          finish('completed');
        }
      });
      const sendStop = () => {
        this.publish(car, session.stop());
        stopTimer = setTimeout(() => {
          this.counts.stopResends++;
          sendStop();
        }, 5000);
      };
      stopTimer = setTimeout(sendStop, this.holdMs);
    });
  }

  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.counts.open > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  }

  async close(): Promise<void> {
    await Promise.all(this.cars.map((c) => c.client.endAsync()));
  }
}
