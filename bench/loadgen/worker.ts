/**
 * A load-generator process: many simulated vehicles (one MQTT connection each, TCP no-delay) that run the
 * real vehicle state machines from shared/ against the gateway, open-loop at the rate the driver asks for.
 * Each handshake goes request → challenge → response → verified auth.result; the vehicle then stops the
 * session at once and waits for the signed receipt, which frees the connector again.
 *
 * Latency is measured from the *scheduled* send time, so a generator or system that falls behind shows up in
 * the numbers (no coordinated omission).
 */
import type net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { nodeCryptoBackend, pooledSecureRandom } from '../../node/crypto.js';
import { installCryptoBackend } from '../../shared/crypto/backend.js';
import {
  b64uDecode,
  mqttClientLog,
  topics,
  type VehicleCredential,
  VehicleHandshake,
  VehicleSession,
} from '../../shared/index.js';
import { issueBenchCredential } from './credentials.js';
import {
  emptyStepResult,
  type FromWorker,
  type SerialRequest,
  type StepRequest,
  type StepResult,
  type ToWorker,
  type WorkerConfig,
  type WorkerPile,
} from './messages.js';

// Node vehicles run on OpenSSL, so the generator stays light next to the gateway it measures.
installCryptoBackend(nodeCryptoBackend);
// Handshake randomness drawn from a pool, as the gateway does: one getrandom call per 16 bytes is a visible cost.
const random = pooledSecureRandom();

interface Slot {
  pile: WorkerPile;
  rootKey: Uint8Array;
  connector: number;
  busy: boolean;
  /** the vehicles holding a credential for this pile */
  drivers: Vehicle[];
}

/**
 * Credentials a worker holds at most (~0.5 KB each). Below it every vehicle may charge at every pile; with
 * more piles (the 10,000-pile scale run) each pile gets a fixed share of the vehicles, as grants would give.
 */
const MAX_CREDENTIALS = 30_000;

interface Vehicle {
  vid: string;
  client: MqttClient;
  credentials: Map<string, VehicleCredential>;
}

interface Attempt {
  vehicle: Vehicle;
  slot: Slot;
  handshake: VehicleHandshake;
  session?: VehicleSession;
  scheduledAt: number;
  /** when the step timeout or receipt deadline runs out */
  deadline: number;
  step: StepResult;
}

const send = (message: FromWorker) => process.send?.(message);

let config: WorkerConfig;
const vehicles: Vehicle[] = [];
const slots: Slot[] = [];
const attempts = new Map<string, Attempt>();
let slotCursor = 0;

function credentialFor(vehicle: Vehicle, slot: Slot): VehicleCredential {
  let credential = vehicle.credentials.get(slot.pile.pid);
  const nowS = Math.floor(Date.now() / 1000);
  if (!credential || credential.exp < nowS + 60) {
    credential = issueBenchCredential(vehicle.vid, slot.pile, slot.rootKey);
    vehicle.credentials.set(slot.pile.pid, credential);
  }
  return credential;
}

async function connect(): Promise<void> {
  await Promise.all(
    config.vehicles.map(async (v) => {
      const client = mqtt.connect(config.mqttUrl, {
        username: v.username,
        password: v.password,
        clientId: `vehicle-${v.vid}-bench`,
        reconnectPeriod: config.reconnectPeriodMs,
        connectTimeout: 30_000,
        resubscribe: true,
        log: mqttClientLog(process.env.DEBUG),
        reschedulePings: false,
      });
      client.on('connect', () => {
        (client.stream as net.Socket).setNoDelay?.(true);
      });
      client.on('error', () => {
        // reconnects on its own; failures show up as lost handshakes
      });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync(
        { [topics.vehicleAuth(v.vid)]: { qos: 1 }, [topics.vehicleSession(v.vid)]: { qos: 1 } },
        {},
      );
      const vehicle: Vehicle = { vid: v.vid, client, credentials: new Map() };
      client.on('message', (topic, payload) => onMessage(vehicle, topic, payload));
      vehicles.push(vehicle);
    }),
  );
  // A car holds its credentials before it reaches the pile: issue them all now, outside the measured steps
  // (issued on first use, they cost the generator ~40 µs per new vehicle–pile pair inside the steps).
  const perPile = Math.max(
    1,
    Math.min(vehicles.length, Math.floor(MAX_CREDENTIALS / Math.max(1, config.piles.length))),
  );
  config.piles.forEach((pile, i) => {
    const rootKey = b64uDecode(pile.rootKey);
    const drivers = Array.from({ length: perPile }, (_, j) => vehicles[(i * perPile + j) % vehicles.length]!);
    for (const connector of pile.connectors) slots.push({ pile, rootKey, connector, busy: false, drivers });
    for (const vehicle of drivers) credentialFor(vehicle, slots.at(-1)!);
  });
}

function publish(vehicle: Vehicle, topic: string, payload: string): void {
  vehicle.client.publish(topic, payload, { qos: 1 }, () => {
    // a failed publish surfaces as a lost handshake
  });
}

function sidOf(payload: Buffer): string | undefined {
  try {
    const sid = (JSON.parse(payload.toString()) as { sid?: unknown }).sid;
    return typeof sid === 'string' ? sid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolved when no attempt is in flight (serial steps wait on it). */
let whenIdle: (() => void) | undefined;

function forget(sid: string): void {
  attempts.delete(sid);
  if (attempts.size === 0 && whenIdle) {
    const resolve = whenIdle;
    whenIdle = undefined;
    resolve();
  }
}

function finish(sid: string, attempt: Attempt): void {
  attempt.slot.busy = false;
  forget(sid);
}

function onMessage(vehicle: Vehicle, topic: string, payload: Buffer): void {
  const sid = sidOf(payload);
  const attempt = sid ? attempts.get(sid) : undefined;
  if (!sid || !attempt || attempt.vehicle !== vehicle) return;
  if (topic.endsWith('/session')) {
    const event = attempt.session?.receive(payload);
    if (event?.kind === 'ended') finish(sid, attempt);
    return;
  }
  for (const event of attempt.handshake.receive(payload)) {
    if (event.kind === 'offer') {
      const response = attempt.handshake.confirmOffer();
      publish(vehicle, response.topic, response.payload);
    } else if (event.kind === 'authorized') {
      const step = attempt.step;
      step.authorised++;
      step.latenciesMs.push(performance.now() - attempt.scheduledAt);
      attempt.session = new VehicleSession(event.session);
      attempt.deadline = performance.now() + 10_000;
      const stop = attempt.session.stop();
      publish(vehicle, stop.topic, stop.payload);
    } else if (event.kind === 'failed') {
      attempt.step.errors[event.code] = (attempt.step.errors[event.code] ?? 0) + 1;
      finish(sid, attempt);
    }
  }
}

/** Gives up on attempts past their deadline: no answer is a lost handshake, no receipt a missing receipt. */
function sweep(): void {
  const now = performance.now();
  for (const [sid, attempt] of attempts) {
    if (now < attempt.deadline) continue;
    if (attempt.session) attempt.step.receiptsMissing++;
    else attempt.step.lost++;
    // The pile forgets a pending handshake after 10 s; keep the connector blocked until then.
    forget(sid);
    setTimeout(() => {
      attempt.slot.busy = false;
    }, 10_000).unref();
  }
}

function nextFreeSlot(): Slot | undefined {
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[(slotCursor + i) % slots.length]!;
    if (!slot.busy) {
      slotCursor = (slotCursor + i + 1) % slots.length;
      return slot;
    }
  }
  return undefined;
}

function startOne(step: StepResult, scheduledAt: number): void {
  const slot = nextFreeSlot();
  if (!slot) {
    step.skipped++;
    return;
  }
  // A random driver per start keeps each (vehicle, pile) pair far below the pile's per-vehicle rate limit.
  const vehicle = slot.drivers[Math.floor(Math.random() * slot.drivers.length)]!;
  const handshake = new VehicleHandshake({
    vid: vehicle.vid,
    credential: credentialFor(vehicle, slot),
    connector: slot.connector,
    now: Date.now,
    random,
    stepTimeoutMs: config.stepTimeoutMs,
  });
  slot.busy = true;
  const attempt: Attempt = {
    vehicle,
    slot,
    handshake,
    scheduledAt,
    deadline: scheduledAt + config.stepTimeoutMs,
    step,
  };
  attempts.set(handshake.sid, attempt);
  step.started++;
  const request = handshake.start();
  publish(vehicle, request.topic, request.payload);
}

/**
 * Waits for the next scheduled send. Node's timers fire up to a millisecond late, which would count as latency
 * (it is measured from the scheduled time); at low rates the last millisecond is waited out on setImmediate, so
 * a send leaves within ~0.05 ms of its time. From 50 sends/s per generator up a 1 ms tick is used instead, as
 * spinning there would take CPU from the system being measured.
 */
async function untilNextSend(dueAt: number, intervalMs: number): Promise<void> {
  if (intervalMs < 20) {
    await new Promise((r) => setTimeout(r, 1));
    return;
  }
  const wait = dueAt - performance.now();
  if (wait > 2) await new Promise((r) => setTimeout(r, wait - 1.5));
  while (performance.now() < dueAt) await new Promise((r) => setImmediate(r));
}

async function runStep(request: StepRequest): Promise<StepResult> {
  const step = emptyStepResult();
  const intervalMs = 1000 / request.rate;
  const total = Math.floor((request.rate * request.durationMs) / 1000);
  const t0 = performance.now();
  while (step.offered < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - t0) / intervalMs) + 1);
    while (step.offered < due) {
      const scheduledAt = t0 + step.offered * intervalMs;
      step.schedulerLagMaxMs = Math.max(step.schedulerLagMaxMs, now - scheduledAt);
      step.offered++;
      startOne(step, scheduledAt);
    }
    await untilNextSend(t0 + step.offered * intervalMs, intervalMs);
  }
  // Drain: wait until every attempt of this step has ended or timed out.
  const drainUntil = performance.now() + request.drainMs;
  while ([...attempts.values()].some((a) => a.step === step) && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const [sid, attempt] of attempts) {
    if (attempt.step !== step) continue;
    if (attempt.session) step.receiptsMissing++;
    else step.lost++;
    forget(sid);
    setTimeout(() => {
      attempt.slot.busy = false;
    }, 10_000).unref();
  }
  step.schedulerLagMaxMs = Math.round(step.schedulerLagMaxMs * 100) / 100;
  return step;
}

/**
 * Unloaded latency: one handshake in the whole system at a time, each started as soon as the previous one's
 * receipt is in, so nothing queues anywhere and no process has long to go idle.
 */
async function runSerial(request: SerialRequest): Promise<StepResult> {
  const step = emptyStepResult();
  for (let i = 0; i < request.count; i++) {
    const idle = new Promise<void>((resolve) => {
      whenIdle = resolve;
    });
    step.offered++;
    startOne(step, performance.now());
    if (attempts.size > 0) await idle;
    whenIdle = undefined;
  }
  return step;
}

const sweeper = setInterval(sweep, 100);

process.on('message', (message: ToWorker) => {
  void (async () => {
    try {
      if (message.type === 'init') {
        config = message.config;
        const t0 = performance.now();
        await connect();
        send({ type: 'ready', connectMs: Math.round(performance.now() - t0) });
      } else if (message.type === 'step') {
        send({ type: 'stepDone', result: await runStep(message) });
      } else if (message.type === 'serial') {
        send({ type: 'stepDone', result: await runSerial(message) });
      } else {
        clearInterval(sweeper);
        await Promise.all(vehicles.map((v) => v.client.endAsync()));
        process.exit(0);
      }
    } catch (error) {
      send({ type: 'error', message: (error as Error).message });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
