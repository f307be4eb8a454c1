import type * as tls from 'node:tls';
import type { Logger, MessageEvent, StreamClientEvents } from '@beyod/core';
import type { RespValue } from './types';

/** Options of a redis.Client (all optional but target). */
export interface RedisClientOptions {
  /** tcp://host:port, tls://host:port or unix:///path/redis.sock. */
  target: string;
  /** AUTH password (requirepass, or the ACL user's password). */
  password?: string;
  /** ACL user name (Redis 6+); AUTH is sent with both. */
  username?: string;
  /** Database index selected on every (re)connect. Default 0. */
  db?: number;
  /** CLIENT SETNAME on every (re)connect. */
  name?: string;
  /** Protocol version: 2 (default) or 3 (HELLO 3; maps, sets, pushes). */
  resp?: 2 | 3;
  /** Seconds between reconnection attempts; 0 = never reconnect. Default 1. */
  reconnectInterval?: number;
  /** Seconds a connection attempt may take. Default 10. */
  connectTimeout?: number;
  /** Commands accepted while not connected (before the first connect, while reconnecting). Default 1000. */
  maxOfflineQueue?: number;
  /** Seconds a command waits for a connection before it fails; 0 = no limit. Default 10. */
  offlineTimeout?: number;
  /** Bulk strings as Buffers instead of UTF-8 strings. */
  returnBuffers?: boolean;
  /** Largest reply accepted, in bytes (default 512 MiB + 1 KiB). */
  maxReplySize?: number;
  /** For tls:// targets. */
  tls?: tls.ConnectionOptions;
  /**
   * Where an outage is logged: a refused or timed-out connection once (a warning), and once
   * when Redis is reachable again. Default: the root logger; false: silent.
   */
  logger?: Logger | false;
}

/** A pub/sub delivery: `event.message` of a client's 'message' event. */
export interface PubSubMessage {
  /** 'message' (SUBSCRIBE), 'pmessage' (PSUBSCRIBE) or 'smessage' (SSUBSCRIBE). */
  kind: 'message' | 'pmessage' | 'smessage';
  channel: string;
  /** The matching pattern, for 'pmessage'. */
  pattern?: string;
  message: string | Buffer;
}

/** Events of a redis.Client: those of StreamClient, plus 'ready' and 'push'; 'message' carries pub/sub deliveries. */
export interface RedisClientEvents extends StreamClientEvents {
  /** Connected, authenticated, database selected, subscriptions restored: commands flow. */
  ready: [];
  message: [MessageEvent<PubSubMessage>];
  /** A RESP3 push that is not pub/sub (e.g. client-side caching invalidations). */
  push: [RespValue[]];
}
