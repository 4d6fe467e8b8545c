/**
 * The cluster's persistence: aedes-persistence-redis, with retained messages kept so that a subscription finds its
 * own without reading anyone else's, and without the wills of connections that a client has since replaced.
 *
 * Upstream keeps every retained message in one hash and answers a wildcard subscription with HSCAN over the whole
 * hash (MATCH filters after reading each field): a car subscribing `evauth/v1/vehicles/{vid}/#` walks every
 * credential of every car, so its delivery time grows with the fleet (bench: `--only cluster`). Here each topic is
 * also a member of a sorted set whose scores are all 0, which Redis keeps in byte order: the topics under a
 * filter's literal prefix are one ZRANGEBYLEX away (O(log N + M)), read a page at a time with their payloads from
 * the hash. Both keys change in one MULTI, so they never disagree. A filter that starts with a wildcard still
 * reads everything, as it must.
 *
 * Wills: when a node dies, the others publish the wills it held, three to seven heartbeats later. A gateway that
 * has meanwhile reconnected to another node (and published its status "online") would then be declared offline
 * by its own old will. A will whose client now has a will on a live node belongs to a connection that is over:
 * it is dropped instead of handed to aedes.
 */

import { CallBackPersistence } from 'aedes-persistence/callBackPersistence.js';
import AsyncRedisPersistence, {
  type RetainedPacket,
  type WillPacket,
} from 'aedes-persistence-redis/asyncPersistence.js';
import type { Redis } from 'ioredis';
import { QlobberTrue } from 'qlobber';

/** topic → [qos byte][payload]: what a subscriber needs, without the packet's broker bookkeeping */
export const RETAINED_PAYLOADS = 'evauth:retained';
/** every retained topic, score 0: a lexicographic index */
export const RETAINED_TOPICS = 'evauth:retained-topics';
/** topics read per round trip while streaming a wildcard's matches */
const PAGE = 500;

const MQTT_WILDCARDS = {
  separator: '/',
  wildcard_one: '+',
  wildcard_some: '#',
  match_empty_levels: true,
} as const;

function encodeRetained(qos: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([qos]), payload]);
}

function decodeRetained(topic: string, stored: Buffer): RetainedPacket {
  const qos = stored[0] === 1 || stored[0] === 2 ? stored[0] : 0;
  return { cmd: 'publish', topic, payload: stored.subarray(1), qos, retain: true };
}

/** The part of a filter before its first wildcard: every topic it matches starts with it. */
function literalPrefix(filter: string): string | undefined {
  const at = filter.search(/[+#]/);
  return at === -1 ? undefined : filter.slice(0, at);
}

/** `a/b/#` matches `a/b` too, which does not start with its prefix `a/b/` (only when `#` is the first wildcard). */
function parentMatchedBy(filter: string, prefix: string): string | undefined {
  return filter === `${prefix}#` && prefix.endsWith('/') ? prefix.slice(0, -1) : undefined;
}

/** Where aedes-persistence-redis keeps a client's will (its `willKey`; the test holds it to upstream's). */
function willKey(nodeId: string, clientId: string): string {
  return `will:${nodeId}:${encodeURIComponent(clientId)}`;
}

class ClusterRedisPersistence extends AsyncRedisPersistence {
  private readonly db: Redis;
  private nodeId?: string;

  constructor(options: { conn: Redis }) {
    super(options);
    this.db = options.conn;
  }

  override async setup(broker: { id: string }): Promise<void> {
    this.nodeId = broker.id;
    await super.setup(broker);
  }

  /** The wills of dead nodes (those not in `live`) that aedes should publish: not the superseded ones. */
  override async *streamWill(live?: Record<string, number>): AsyncGenerator<WillPacket> {
    const nodes = new Set([...Object.keys(live ?? {}), ...(this.nodeId ? [this.nodeId] : [])]);
    for await (const will of super.streamWill(live)) {
      const current = [...nodes].filter((n) => n !== will.brokerId).map((n) => willKey(n, will.clientId));
      if (current.length > 0 && (await this.db.exists(...current)) > 0) {
        await this.delWill({ id: will.clientId, brokerId: will.brokerId });
        continue;
      }
      yield will;
    }
  }

  override async storeRetained(packet: {
    topic: string;
    payload: Buffer | string;
    qos: 0 | 1 | 2;
  }): Promise<void> {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const transaction =
      payload.length === 0
        ? this.db.multi().hdel(RETAINED_PAYLOADS, packet.topic).zrem(RETAINED_TOPICS, packet.topic)
        : this.db
            .multi()
            .hset(RETAINED_PAYLOADS, packet.topic, encodeRetained(packet.qos, payload))
            .zadd(RETAINED_TOPICS, 0, packet.topic);
    const results = await transaction.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed)
      throw failed?.[0] ?? new Error('retained message not stored (transaction aborted)');
  }

  override createRetainedStream(pattern: string): AsyncIterable<RetainedPacket> {
    return this.createRetainedStreamCombi([pattern]);
  }

  override createRetainedStreamCombi(patterns: string[]): AsyncIterable<RetainedPacket> {
    return this.matching(patterns);
  }

  private async *matching(patterns: readonly string[]): AsyncGenerator<RetainedPacket> {
    const sent = new Set<string>();
    for (const pattern of patterns) {
      const prefix = literalPrefix(pattern);
      const exact = prefix === undefined ? pattern : parentMatchedBy(pattern, prefix);
      if (exact !== undefined && !sent.has(exact)) {
        const stored = await this.db.hgetBuffer(RETAINED_PAYLOADS, exact);
        if (stored) {
          sent.add(exact);
          yield decodeRetained(exact, stored);
        }
      }
      if (prefix === undefined) continue;
      const filter = new QlobberTrue(MQTT_WILDCARDS).add(pattern);
      for await (const page of this.topicsUnder(prefix)) {
        const wanted = page.filter((topic) => !sent.has(topic) && filter.test(topic));
        if (wanted.length === 0) continue;
        const stored = await this.db.hmgetBuffer(RETAINED_PAYLOADS, ...wanted);
        for (const [i, topic] of wanted.entries()) {
          const value = stored[i];
          if (!value) continue; // deleted since the page was read
          sent.add(topic);
          yield decodeRetained(topic, value);
        }
      }
    }
  }

  /** The retained topics that start with `prefix`, in byte order, a page at a time. */
  private async *topicsUnder(prefix: string): AsyncGenerator<string[]> {
    const start = Buffer.from(prefix);
    // 0xff never occurs in UTF-8, so `[prefix` … `[prefix\xff` is exactly the topics starting with prefix
    let min: Buffer | string = prefix === '' ? '-' : Buffer.concat([Buffer.from('['), start]);
    const max: Buffer | string =
      prefix === '' ? '+' : Buffer.concat([Buffer.from('['), start, Buffer.from([0xff])]);
    for (;;) {
      const page = await this.db.zrangebylexBuffer(RETAINED_TOPICS, min, max, 'LIMIT', 0, PAGE);
      if (page.length > 0) yield page.map((topic) => topic.toString('utf8'));
      if (page.length < PAGE) return;
      min = Buffer.concat([Buffer.from('('), page[page.length - 1]!]);
    }
  }
}

/** What aedes is given as its persistence: the callback layer aedes 1.x calls, over the indexed store. */
export type ClusterPersistence = CallBackPersistence<{ conn: Redis }>;

/** The persistence of a cluster node over its own Redis connection (closed by the persistence's destroy). */
export function clusterPersistence(conn: Redis): ClusterPersistence {
  return new CallBackPersistence((options) => new ClusterRedisPersistence(options), { conn });
}
