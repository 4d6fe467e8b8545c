/**
 * A broker node of a cluster: aedes nodes that share one Redis (docs/deploy.md). Messages pass between nodes over
 * Redis pub/sub (mqemitter-redis, redis-channels.ts); retained messages and wills live in Redis
 * (aedes-persistence-redis, cluster-persistence.ts); aedes's own heartbeats tell the nodes which of them are
 * alive, and a node that dies has its clients' wills published by the others (not those a client has replaced by
 * reconnecting elsewhere).
 *
 * A node that cannot reach Redis would serve a split view (its clients cut off from everyone else's messages,
 * retained state out of date): while any of its three Redis connections is down it refuses every CONNECT with
 * "server unavailable" (clients move on to the next node) and closes the connections it holds, which come back
 * with fresh subscriptions and retained state once Redis is there again.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type ClusterPersistence, clusterPersistence } from './cluster-persistence.js';
import { ChannelRoutedEmitter } from './redis-channels.js';

export interface ClusterOptions {
  /** redis:// or rediss:// URL of the cluster's Redis */
  redisUrl: string;
  /**
   * aedes's heartbeat between nodes: a node silent for three of them is dead, and the others (checking every
   * four) publish the wills of its clients 3–7 heartbeats after its death; default 5 s
   */
  heartbeatMs?: number;
}

/** The Redis URL as it may be logged: without its password. */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export class ClusterLink {
  readonly mq: ChannelRoutedEmitter;
  readonly persistence: ClusterPersistence;
  readonly heartbeatMs: number;
  private readonly connections: Redis[];
  private up = false;
  private readonly listeners: ((reachable: boolean) => void)[] = [];

  constructor(options: ClusterOptions, log?: Logger) {
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    const redis = redactedRedisUrl(options.redisUrl);
    const connect = (role: string) =>
      new Redis(options.redisUrl, {
        connectionName: `evauth-broker-${role}`,
        // Queued commands wait for Redis instead of failing after 20 retries: a subscription or a will that
        // failed would be lost for good; while Redis is away the node takes no clients, so little queues.
        maxRetriesPerRequest: null,
        retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      });
    const sub = connect('sub');
    const pub = connect('pub');
    const store = connect('store');
    this.connections = [sub, pub, store];
    for (const connection of this.connections) {
      connection.on('ready', () => this.recheck());
      connection.on('close', () => this.recheck());
      // ioredis prints unhandled errors to the console; the state change is what matters, logged once
      connection.on('error', (err: Error) => log?.debug({ err: err.message }, 'redis connection error'));
    }
    this.mq = new ChannelRoutedEmitter({ subConn: sub, pubConn: pub, concurrency: 100 });
    this.mq.state.on('error', (err: Error) => log?.warn({ err: err.message }, 'redis pub/sub error'));
    this.persistence = clusterPersistence(store);
    log?.info({ redis, heartbeatMs: this.heartbeatMs }, 'cluster node: waiting for redis');
  }

  /** Whether every Redis connection of the node is up. */
  get reachable(): boolean {
    return this.up;
  }

  /** Called with the new state each time Redis is lost or found again. */
  onChange(listener: (reachable: boolean) => void): void {
    this.listeners.push(listener);
  }

  private recheck(): void {
    const up = this.connections.every((c) => c.status === 'ready');
    if (up === this.up) return;
    this.up = up;
    for (const listener of this.listeners) listener(up);
  }

  /** Closes the Redis connections (the persistence's own with it); never waits on a Redis that is gone. */
  async close(): Promise<void> {
    await Promise.race([
      this.persistence.asyncPersistence.destroy().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 1000)),
    ]);
    for (const connection of this.connections) connection.disconnect();
  }
}
