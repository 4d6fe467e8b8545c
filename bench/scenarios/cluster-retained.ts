/**
 * The cluster scenario's measurements of what Redis holds and what a connecting car costs: retained-credential
 * delivery with a large keyspace (the cluster's index against upstream aedes-persistence-redis's hash scan), Redis
 * memory per retained credential and per car's channel, a node's memory per connected car, and what a head
 * unit's subscriptions pull at connect with many piles (directory and status of every pile).
 */
import type net from 'node:net';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { clusterPersistence } from '../../broker/cluster-persistence.js';
import { topics } from '../../shared/index.js';
import { testClientId } from '../../tests/support/mqtt.js';
import { rssMB } from '../lib/machine.js';
import { type LatencySummary, round2, summarize } from '../lib/stats.js';

export interface Login {
  vid: string;
  username: string;
  password: string;
}

export interface RetainedAtSize {
  /** retained credentials in Redis (the car's own among them) */
  credentials: number;
  /** the car's own, found by its `vehicles/{vid}/#` */
  perCar: number;
  /** SUBSCRIBE sent → the car's last credential received, through a cluster node */
  deliveryMs: LatencySummary;
  /** the same lookup in the cluster's persistence alone (ZRANGEBYLEX over the car's prefix) */
  indexedLookupMs: LatencySummary;
  /** upstream aedes-persistence-redis on the same data (HSCAN of every retained message) */
  upstreamLookupMs: LatencySummary;
}

export interface RetainedResult {
  sizes: RetainedAtSize[];
  /** Redis used_memory per retained credential: the cluster's layout (hash + sorted-set index), and upstream's */
  redisBytesPerCredential: number;
  upstreamBytesPerCredential: number;
  credentialPayloadBytes: number;
}

const REPS = 20;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function timed(reps: number, run: () => Promise<void>): Promise<LatencySummary> {
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of stream) n++;
  return n;
}

/** Stores `packets` through `store` a batch at a time (each store is its own round trip). */
async function storeAll(
  store: { storeRetained(p: { topic: string; payload: Buffer; qos: 0 | 1 }): Promise<void> },
  packets: Iterable<{ topic: string; payload: Buffer }>,
): Promise<void> {
  let batch: Promise<void>[] = [];
  for (const p of packets) {
    batch.push(store.storeRetained({ ...p, qos: 1 }));
    if (batch.length >= 2000) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
}

async function connectCar(
  url: string,
  car: Login,
  clientId = testClientId(car.username),
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId,
    username: car.username,
    password: car.password,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  // as every evauth client does: Nagle plus delayed ACK would add ~40 ms to a SUBSCRIBE after a PUBACK
  (client.stream as net.Socket).setNoDelay?.(true);
  return client;
}

/** Waits for `count` messages on `client` after `start()`; the time it took. */
async function receive(client: MqttClient, count: number, start: () => void, timeoutMs = 120_000) {
  let seen = 0;
  let bytes = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} messages`)), timeoutMs);
    const onMessage = (_topic: string, payload: Buffer) => {
      bytes += payload.length;
      if (++seen === count) {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve();
      }
    };
    client.on('message', onMessage);
    start();
  });
  return { ms: performance.now() - t0, bytes };
}

/**
 * Fills Redis with `sizes` (ascending) retained credentials, 10 per car, and times the delivery of one car's 10
 * at each size: through a node (end to end), and in the persistence alone, the cluster's and upstream's.
 */
export async function measureRetained(options: {
  redisUrl: string;
  nodeUrl: string;
  car: Login;
  sizes: number[];
  payload: Buffer;
  log: (line: string) => void;
}): Promise<RetainedResult> {
  const perCar = 10;
  const redis = new Redis(options.redisUrl);
  const ours = clusterPersistence(redis);
  const upstreamConn = new Redis(options.redisUrl);
  const upstream = new AsyncRedisPersistence({ conn: upstreamConn });
  const filter = topics.vehicleAll(options.car.vid);
  const credential = (i: number) => ({
    topic:
      i < perCar
        ? topics.credential(options.car.vid, `FP${i}`)
        : topics.credential(`FV${Math.floor(i / perCar)}`, `FP${i % perCar}`),
    payload: options.payload,
  });
  function* range(from: number, to: number) {
    for (let i = from; i < to; i++) yield credential(i);
  }
  const result: RetainedResult = {
    sizes: [],
    redisBytesPerCredential: Number.NaN,
    upstreamBytesPerCredential: Number.NaN,
    credentialPayloadBytes: options.payload.length,
  };
  const car = await connectCar(options.nodeUrl, options.car);
  try {
    let stored = 0;
    for (const size of options.sizes) {
      const before = await usedMemory(redis);
      await storeAll(ours, range(stored, size));
      const afterOurs = await usedMemory(redis);
      await storeAll(upstream, range(stored, size));
      const afterUpstream = await usedMemory(redis);
      if (stored === 0) {
        result.redisBytesPerCredential = Math.round((afterOurs - before) / size);
        result.upstreamBytesPerCredential = Math.round((afterUpstream - afterOurs) / size);
      }
      stored = size;
      const deliveryMs = await timed(REPS, async () => {
        await receive(car, perCar, () => car.subscribe(filter, { qos: 1 }));
        await car.unsubscribeAsync(filter);
      });
      const indexedLookupMs = await timed(REPS, async () => {
        if ((await drain(ours.createRetainedStreamCombi([filter]))) !== perCar) throw new Error('lookup');
      });
      const upstreamLookupMs = await timed(REPS, async () => {
        if ((await drain(upstream.createRetainedStream(filter))) !== perCar)
          throw new Error('upstream lookup');
      });
      result.sizes.push({ credentials: size, perCar, deliveryMs, indexedLookupMs, upstreamLookupMs });
      options.log(
        `  ${size} credentials in Redis: a car's ${perCar} delivered in p50 ${deliveryMs.p50} ms (p99 ${deliveryMs.p99}); ` +
          `lookup ${indexedLookupMs.p50} ms indexed vs ${upstreamLookupMs.p50} ms upstream (HSCAN)`,
      );
    }
    options.log(
      `  Redis memory per retained credential (${options.payload.length} B sealed): ${result.redisBytesPerCredential} B ` +
        `(upstream's layout: ${result.upstreamBytesPerCredential} B)`,
    );
  } finally {
    await car.endAsync(true);
    // (not upstream.destroy(): it was never set up, and its destroy would throw before disconnecting)
    upstreamConn.disconnect();
    redis.disconnect();
  }
  return result;
}

/** The payload retained on `topic` in the cluster's Redis. */
export async function retainedPayload(redisUrl: string, topic: string): Promise<Buffer> {
  const redis = new Redis(redisUrl);
  try {
    for await (const packet of clusterPersistence(redis).createRetainedStreamCombi([topic]))
      return packet.payload;
    throw new Error(`nothing retained on ${topic}`);
  } finally {
    redis.disconnect();
  }
}

export interface FleetMeasures {
  cars: number;
  /** the node's RSS growth per connected car subscribed as the head unit is (4 filters) */
  nodeRssPerCarKB: number;
  /** Redis used_memory per car's channel (one SUBSCRIBE per connected car per node) */
  redisBytesPerCarChannel: number;
  /** a head unit connecting with `piles` piles in the directory: what its 4 subscriptions pull */
  connect: { piles: number; messages: number; bytes: number; ms: number };
}

/** Connects `cars` head-unit-like cars to one node and measures what they and a head unit's connect cost. */
export async function measureFleet(options: {
  redisUrl: string;
  nodeUrl: string;
  nodePid: number;
  car: Login;
  cars: number;
  piles: number;
  directoryPayload: Buffer;
  statusPayload: Buffer;
  log: (line: string) => void;
}): Promise<FleetMeasures> {
  const filters = [
    topics.vehicleAll(options.car.vid),
    topics.directoryAll(),
    topics.allPileStatus(),
    topics.allGatewayStatus(),
  ];
  const clients: MqttClient[] = [];
  const redis = new Redis(options.redisUrl);
  const channels = new Redis(options.redisUrl);
  try {
    // the growth from `cars` to twice as many: what one more car costs, without the node's first allocations
    const connectCars = async (from: number) => {
      for (let i = from; i < from + options.cars; i++) {
        const client = await connectCar(
          options.nodeUrl,
          options.car,
          `vehicle-${options.car.vid}-fleet-${i}`,
        );
        await client.subscribeAsync(filters, { qos: 1 });
        clients.push(client);
      }
      await new Promise((r) => setTimeout(r, 1000));
      return rssMB(options.nodePid) ?? Number.NaN;
    };
    const rssBefore = await connectCars(0);
    const rssAfter = await connectCars(options.cars);
    const nodeRssPerCarKB = round2(((rssAfter - rssBefore) * 1024) / options.cars);
    options.log(
      `  ${options.cars} → ${2 * options.cars} cars on one node: RSS ${rssBefore} → ${rssAfter} MB, ${nodeRssPerCarKB} KB per car`,
    );
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));

    // one exact channel per connected car and node in Redis's pub/sub table
    const count = 10_000;
    const before = await usedMemory(redis);
    for (let i = 0; i < count; i += 1000)
      await channels.subscribe(...Array.from({ length: 1000 }, (_, j) => `evauth/v1/vehicles/FLEET${i + j}`));
    const redisBytesPerCarChannel = Math.round(((await usedMemory(redis)) - before) / count);

    // every pile's directory entry and status, retained
    const store = clusterPersistence(redis);
    await storeAll(
      store,
      (function* () {
        for (let i = 0; i < options.piles; i++) {
          yield { topic: topics.directoryPile(`FLEET-P${i}`), payload: options.directoryPayload };
          yield { topic: topics.pileStatus(`FLEET-P${i}`), payload: options.statusPayload };
        }
      })(),
    );
    const headUnit = await connectCar(options.nodeUrl, options.car);
    clients.push(headUnit);
    // the fleet's own piles are retained too: count what this subscription set finds first
    let expected = 0;
    for await (const _ of store.createRetainedStreamCombi(filters)) expected++;
    const pulled = await receive(headUnit, expected, () => headUnit.subscribe(filters, { qos: 1 }), 300_000);
    const connect = {
      piles: options.piles,
      messages: expected,
      bytes: pulled.bytes,
      ms: Math.round(pulled.ms),
    };
    options.log(
      `  a head unit connecting with ${options.piles} piles: ${connect.messages} retained messages, ` +
        `${round2(connect.bytes / 2 ** 20)} MB, ${connect.ms} ms`,
    );
    return { cars: options.cars, nodeRssPerCarKB, redisBytesPerCarChannel, connect };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    channels.disconnect();
    redis.disconnect();
  }
}
