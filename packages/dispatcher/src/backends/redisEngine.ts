import { EventEmitter } from 'node:events';
import type { CloseEvent, MessageEvent } from '@beyod/core';
import { redis } from '@beyod/protocols';

/** Events of an engine: deliveries by Redis channel name, and connection life. */
export interface EngineEvents {
  delivery: [channel: string, message: string];
  /** Connected (again) and subscriptions restored. */
  ready: [];
  close: [reason: string, error: Error | undefined];
  error: [Error];
}

/**
 * What the Redis dispatcher backend needs from Redis, over a standalone server or a cluster:
 * keyed commands, blocking commands, pub/sub (classic or sharded), and a SCAN of every node.
 */
export interface Engine {
  readonly target: string;
  readonly ready: boolean;
  connect(): Promise<void>;
  close(): Promise<void>;
  call<T = redis.RespValue>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T>;
  blocking<T = redis.RespValue>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /** Every key matching `match` (of `type`), a batch at a time, from every node (duplicates possible). */
  scan(match: string, type: string): AsyncGenerator<string[]>;
  on<K extends keyof EngineEvents>(event: K, listener: (...args: EngineEvents[K]) => void): this;
}

export interface EngineOptions {
  urls: string[];
  client: Omit<redis.RedisClientOptions, 'target'>;
  maxIdleBlocking: number;
}

/** One redis-server: one RESP3 connection for commands and subscriptions, a pool for blocking pops. */
export class StandaloneEngine extends EventEmitter implements Engine {
  readonly target: string;
  private readonly client: redis.Client;
  private readonly pool: redis.BlockingPool;

  constructor(options: EngineOptions) {
    super();
    const target = options.urls[0]!;
    this.target = target;
    // RESP3: commands and pub/sub share the connection (RESP2 would need a second one per client).
    this.client = new redis.Client({ ...options.client, target, resp: 3 });
    this.pool = new redis.BlockingPool({ ...options.client, target, resp: 3 }, options.maxIdleBlocking);
    this.client.on('message', (e: MessageEvent<redis.PubSubMessage>) =>
      this.emit('delivery', e.message.channel, String(e.message.message)),
    );
    this.client.on('ready', () => this.emit('ready'));
    this.client.on('close', (e: CloseEvent) => this.emit('close', e.reason, e.error));
    this.client.on('error', (e) => this.listenerCount('error') > 0 && this.emit('error', e));
  }

  get ready(): boolean {
    return this.client.ready;
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  async close(): Promise<void> {
    this.pool.close();
    await this.client.close();
  }

  call<T>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T> {
    return this.client.call<T>(command, ...args);
  }

  blocking<T>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T> {
    return this.pool.run<T>([command, ...args.flat()]);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.client.publish(channel, message);
  }

  async subscribe(channels: string[]): Promise<void> {
    await this.client.subscribe(...channels);
  }

  async unsubscribe(channels: string[]): Promise<void> {
    await this.client.unsubscribe(...channels);
  }

  async *scan(match: string, type: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, { match, count: 1000, type });
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** A Redis Cluster: redis.Cluster routes by slot; channels are shard channels (SSUBSCRIBE / SPUBLISH). */
export class ClusterEngine extends EventEmitter implements Engine {
  readonly target: string;
  private readonly cluster: redis.Cluster;
  private connected = false;

  constructor(options: EngineOptions) {
    super();
    this.target = options.urls.join(',');
    this.cluster = new redis.Cluster({ ...options.client, seeds: options.urls, maxIdleBlocking: options.maxIdleBlocking });
    this.cluster.on('message', (e: MessageEvent<redis.PubSubMessage>) =>
      this.emit('delivery', e.message.channel, String(e.message.message)),
    );
    this.cluster.on('error', (e) => this.listenerCount('error') > 0 && this.emit('error', e));
  }

  get ready(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    this.connected = true;
    this.emit('ready');
  }

  async close(): Promise<void> {
    this.connected = false;
    await this.cluster.close();
  }

  call<T>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T> {
    return this.cluster.call<T>(command, ...args);
  }

  blocking<T>(command: string, ...args: Array<redis.RedisArg | ReadonlyArray<redis.RedisArg>>): Promise<T> {
    return this.cluster.callBlocking<T>(command, ...args);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.cluster.spublish(channel, message);
  }

  async subscribe(channels: string[]): Promise<void> {
    await this.cluster.ssubscribe(...channels);
  }

  async unsubscribe(channels: string[]): Promise<void> {
    if (channels.length > 0) await this.cluster.sunsubscribe(...channels);
  }

  async *scan(match: string, type: string): AsyncGenerator<string[]> {
    for (const node of this.cluster.masterNodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.cluster.callNode<[redis.RespValue, redis.RespValue[]]>(
          node,
          'SCAN',
          cursor,
          'MATCH',
          match,
          'COUNT',
          1000,
          'TYPE',
          type,
        );
        cursor = String(next);
        if (keys.length > 0) yield keys.map(String);
      } while (cursor !== '0');
    }
  }
}
