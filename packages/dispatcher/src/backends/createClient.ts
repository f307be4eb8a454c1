import type { redis } from '@beyod/protocols';
import { Client, type ClientOptions } from '../Client';
import { RedisDispatcherClient } from './RedisDispatcherClient';
import { ShardedClient } from './ShardedClient';
import { parseTarget } from './targets';
import type { DispatcherClient } from './types';

/** Options of createClient: those of Client, a target that may name any backend, and Redis settings. */
export interface CreateClientOptions extends Omit<ClientOptions, 'target'> {
  /**
   * - `tcp://host:port` (tls://, unix://): one beyod dispatcher;
   * - several of them (an array, or comma-separated): placed by rendezvous hashing;
   * - `redis://[user:password@]host:port[/db][?prefix=app]` (rediss:// for TLS): a Redis server;
   * - `redis+cluster://host:port,host:port[?prefix=app]` (rediss+cluster://): Redis Cluster seeds.
   */
  target: string | string[];
  /** Redis: prefix of every key and channel (`?prefix=` in the URL wins). Default 'beyod'. */
  prefix?: string;
  /** Redis: items one queue may hold (0 = no limit; the dispatcher's own limit is its queueSize). Default 0. */
  queueSize?: number;
  /** Redis: idle connections kept (per node) for blocking qpop. Default 4. */
  maxIdleBlocking?: number;
  /** Redis: options of the underlying connections (tls, name, password when not in the URL...). */
  redis?: Partial<redis.RedisClientOptions>;
}

/**
 * A dispatcher client for the backend `target` names. Worker code written against the
 * returned DispatcherClient runs unchanged on a beyod dispatcher, several of them, Redis or Redis
 * Cluster: moving from one to another is a change of `target` (an environment variable, say).
 *
 *     const client = createClient({ target: process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491', defaultChannel: gpid });
 *     client.on('message', (e) => handle(e.message.value));
 *     await client.connect();
 */
export function createClient(options: CreateClientOptions): DispatcherClient {
  const { target, prefix, queueSize, maxIdleBlocking, redis: redisOptions, ...common } = options;
  const backend = parseTarget(target);
  switch (backend.kind) {
    case 'dispatcher':
      return new Client({ ...common, target: backend.url });
    case 'sharded':
      return new ShardedClient({ ...common, targets: backend.urls });
    case 'redis':
    case 'cluster':
      return new RedisDispatcherClient({
        ...common,
        redis: backend.redis,
        cluster: backend.kind === 'cluster',
        prefix,
        queueSize,
        maxIdleBlocking,
        redisOptions: { tls: common.tls, ...redisOptions },
      });
  }
}
