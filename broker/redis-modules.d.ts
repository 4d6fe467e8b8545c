/**
 * Types for the parts of the cluster's libraries that ship none: aedes-persistence-redis's async class (which
 * cluster-persistence.ts extends), aedes-persistence's callback layer (what aedes 1.x calls), qlobber's matcher, and
 * msgpack-lite (the envelope mqemitter-redis decodes, redis-channels.ts).
 */
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis';

  export interface RetainedPacket {
    cmd: 'publish';
    topic: string;
    payload: Buffer;
    qos: 0 | 1 | 2;
    retain: boolean;
  }

  export interface WillPacket {
    clientId: string;
    brokerId: string;
    topic: string;
    payload: Buffer;
  }

  export default class AsyncRedisPersistence {
    constructor(options: { conn: Redis });
    setup(broker: { id: string }): Promise<void>;
    streamWill(brokers?: Record<string, number>): AsyncIterable<WillPacket>;
    storeRetained(packet: { topic: string; payload: Buffer | string; qos: 0 | 1 | 2 }): Promise<void>;
    createRetainedStreamCombi(patterns: string[]): AsyncIterable<RetainedPacket>;
    createRetainedStream(pattern: string): AsyncIterable<RetainedPacket>;
    delWill(client: { id: string; brokerId: string }): Promise<unknown>;
    destroy(): Promise<void>;
  }
}

declare module 'aedes-persistence/callBackPersistence.js' {
  import type { Readable } from 'node:stream';

  export class CallBackPersistence<O> {
    constructor(factory: (options: O) => unknown, options: O);
    storeRetained(packet: { topic: string; payload: Buffer | string; qos: 0 | 1 | 2 }): Promise<void>;
    createRetainedStreamCombi(patterns: string[]): Readable;
    putWill(client: { id: string }, packet: object): Promise<unknown>;
    streamWill(brokers: Record<string, number>): Readable;
    readonly asyncPersistence: {
      delWill(client: { id: string; brokerId: string }): Promise<unknown>;
      destroy(): Promise<void>;
    };
  }
}

declare module 'qlobber' {
  export class QlobberTrue {
    constructor(options: {
      separator: string;
      wildcard_one: string;
      wildcard_some: string;
      match_empty_levels: boolean;
    });
    add(topic: string): this;
    test(topic: string): boolean;
  }
}

declare module 'msgpack-lite' {
  const msgpack: { encode(value: unknown): Buffer; decode(buffer: Buffer): unknown };
  export default msgpack;
}
