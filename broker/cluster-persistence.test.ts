/** The cluster's persistence against a real Redis (tests/support/redis.ts): retained messages, and wills. */

import { Aedes } from 'aedes';
import { Redis } from 'ioredis';
import { QlobberTrue } from 'qlobber';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestRedis } from '../tests/support/redis.js';
import {
  type ClusterPersistence,
  clusterPersistence,
  RETAINED_PAYLOADS,
  RETAINED_TOPICS,
} from './cluster-persistence.js';

describe('retained messages indexed by topic (cluster persistence)', () => {
  let redis: TestRedis;
  let conn: Redis;
  let store: ClusterPersistence;

  const retained = async (...filters: string[]) => {
    const found: { topic: string; payload: string; qos: number }[] = [];
    for await (const p of store.createRetainedStreamCombi(filters))
      found.push({ topic: p.topic, payload: p.payload.toString(), qos: p.qos });
    return found;
  };
  const put = (topic: string, payload: string, qos: 0 | 1 = 1) =>
    store.storeRetained({ topic, payload: Buffer.from(payload), qos });

  beforeAll(async () => {
    redis = await TestRedis.start();
    conn = new Redis(redis.url);
    store = clusterPersistence(conn);
  });
  beforeEach(async () => {
    await conn.flushall();
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
  });

  it('stores, replaces and withdraws a message, with the index in step', async () => {
    await put('evauth/v1/vehicles/V1/credentials/P1', 'one', 0);
    await put('evauth/v1/vehicles/V1/credentials/P1', 'two');
    expect(await retained('evauth/v1/vehicles/V1/credentials/P1')).toEqual([
      { topic: 'evauth/v1/vehicles/V1/credentials/P1', payload: 'two', qos: 1 },
    ]);
    await put('evauth/v1/vehicles/V1/credentials/P1', '');
    expect(await retained('evauth/v1/vehicles/V1/#')).toEqual([]);
    expect([await conn.hlen(RETAINED_PAYLOADS), await conn.zcard(RETAINED_TOPICS)]).toEqual([0, 0]);
  });

  it('finds for each filter exactly what MQTT matches, once each', async () => {
    const topics = [
      'evauth/v1/vehicles/V1/credentials/P1',
      'evauth/v1/vehicles/V1/credentials/P2',
      'evauth/v1/vehicles/V1/cloud',
      'evauth/v1/vehicles/V10/credentials/P1',
      'evauth/v1/vehicles/V1',
      'evauth/v1/vehicles',
      'evauth/v1/piles/P1/status',
      'evauth/v1/piles/P2/status',
      'evauth/v1/piles/P2/control',
      'evauth/v1/directory/piles/P1',
      'evauth/v1/gateways/G1/status',
      'elsewhere/x',
      'evauth/v1/piles//status',
      'ünïcödé/ß/1',
    ];
    for (const t of topics) await put(t, t);
    const filters = [
      ['evauth/v1/vehicles/V1/#'],
      ['evauth/v1/vehicles/V1/credentials/+'],
      ['evauth/v1/piles/+/status'],
      ['evauth/v1/+/+/status'],
      ['evauth/v1/directory/#'],
      ['#'],
      ['+/+'],
      ['ünïcödé/#'],
      ['evauth/v1/vehicles/V1'],
      // overlapping filters, as one SUBSCRIBE of the head unit: each message once
      ['evauth/v1/vehicles/V1/#', 'evauth/v1/vehicles/V1/cloud', 'evauth/v1/#', 'evauth/v1/piles/+/status'],
    ];
    for (const set of filters) {
      const mqtt = new QlobberTrue({
        separator: '/',
        wildcard_one: '+',
        wildcard_some: '#',
        match_empty_levels: true,
      });
      for (const f of set) mqtt.add(f);
      const expected = topics.filter((t) => mqtt.test(t)).sort();
      const found = (await retained(...set)).map((m) => m.topic);
      expect(found.sort(), set.join(' ')).toEqual(expected);
      expect(new Set(found).size).toBe(found.length);
    }
  });

  it("reads a car's messages page by page without reading the rest of the fleet's", async () => {
    const fleet = conn.pipeline();
    for (let i = 0; i < 3000; i++)
      fleet.hset(RETAINED_PAYLOADS, `evauth/v1/vehicles/W${i}/credentials/P1`, '\x01x');
    for (let i = 0; i < 3000; i++) fleet.zadd(RETAINED_TOPICS, 0, `evauth/v1/vehicles/W${i}/credentials/P1`);
    await fleet.exec();
    for (let i = 0; i < 1200; i++) await put(`evauth/v1/vehicles/V1/credentials/P${i}`, `c${i}`);
    await conn.config('RESETSTAT');
    const found = await retained('evauth/v1/vehicles/V1/#');
    expect(found).toHaveLength(1200);
    const stats = await conn.info('commandstats');
    const calls = (command: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    // three pages of 500 topics, each with one HMGET: nothing proportional to the 4 200 retained messages
    expect(calls('zrangebylex')).toBe(3);
    expect(calls('hmget')).toBe(3);
    expect(calls('hscan') + calls('scan') + calls('hgetall')).toBe(0);
  });

  it("leaves out a dead node's will whose client has since connected with a will to a live node", async () => {
    const node = async (id: string) => {
      const persistence = clusterPersistence(new Redis(redis.url));
      return { broker: await Aedes.createBroker({ id, persistence }), persistence };
    };
    const [a, b] = [await node('node-a'), await node('node-b')];
    const will = (gid: string) => ({
      cmd: 'publish',
      topic: `evauth/v1/gateways/${gid}/status`,
      payload: Buffer.from(`{"v":1,"gid":"${gid}","online":false}`),
      qos: 1,
      retain: true,
    });
    try {
      await a.persistence.putWill({ id: 'gateway-G1-1' }, will('G1'));
      await a.persistence.putWill({ id: 'gateway-G2-1' }, will('G2'));
      // G1 reconnected to node b; then node a died: node b publishes what node a held
      await b.persistence.putWill({ id: 'gateway-G1-1' }, will('G1'));
      const due = async () => {
        const clients: string[] = [];
        for await (const w of b.persistence.streamWill({ 'node-b': Date.now() })) clients.push(w.clientId);
        return clients;
      };
      expect(await due()).toEqual(['gateway-G2-1']);
      // the superseded will is gone for good, G1's current one stays
      expect(await conn.exists('will:node-a:gateway-G1-1', 'will:node-b:gateway-G1-1')).toBe(1);
      expect(await conn.exists('will:node-b:gateway-G1-1')).toBe(1);
      expect(await due()).toEqual(['gateway-G2-1']);
    } finally {
      for (const n of [a, b]) {
        await new Promise<void>((resolve) => n.broker.close(() => resolve()));
        await n.persistence.asyncPersistence.destroy();
      }
    }
  });
});
