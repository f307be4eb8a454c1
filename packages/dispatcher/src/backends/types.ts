import type { Delivery, DispatcherResponse } from '../Client';
import type { Key } from '../store/ChannelStore';

/** A delivery event: `message` is the delivery as the backend received it, `sender` the client. */
export interface DeliveryEvent {
  readonly sender: DispatcherClient;
  readonly message: Delivery;
}

/** Why a connection of a client closed (a CloseEvent for the beyod dispatcher). */
export interface ClientCloseEvent {
  readonly reason: string;
  readonly error?: Error;
}

/** Events of every dispatcher client, whatever the backend. */
export interface DispatcherClientEvents {
  /** A channel delivery (`event.message.value` is what was published). */
  message: [DeliveryEvent];
  /** A broadcast delivery. */
  broadcast: [DeliveryEvent];
  /** Connected (again), authenticated and subscribed. */
  connect: [];
  /** A connection was lost (the client reconnects by itself when reconnectInterval > 0). */
  close: [ClientCloseEvent];
  /** Connection failures and errors nobody asked for; emitted only when listened to. */
  error: [Error];
}

/** `qpop` options. */
export interface QpopOptions {
  /** Wait for an item when the queue is empty. */
  block?: boolean;
  /** Seconds a blocking pop waits (0 = forever); then `value` is null. */
  timeout?: number;
}

/**
 * The dispatcher Client API, the same on every backend: the beyod dispatcher (`Client`), several
 * beyod dispatchers (`ShardedClient`), Redis and Redis Cluster (`RedisDispatcherClient`). Worker
 * code written against it runs unchanged on each; `createClient({ target })` picks the backend
 * from the target. docs/dispatcher.md and docs/scaling.md list where the backends differ.
 */
export interface DispatcherClient {
  /** The target(s), as configured. */
  readonly target: string;
  /** True while at least one connection is up. */
  readonly connected: boolean;
  /** Connect; resolves once connected and subscribed to defaultChannel. */
  connect(): Promise<void>;
  /** Close for good; pending requests fail with BEYOD_DISPATCHER_CLIENT_CLOSED. */
  close(): Promise<void>;
  subscribe(keys: Key | Key[]): Promise<DispatcherResponse>;
  unsubscribe(keys: Key | Key[]): Promise<DispatcherResponse>;
  /** `published`: deliveries made. */
  publish(keys: Key | Key[], value: unknown): Promise<DispatcherResponse>;
  /** To every subscribed client, once; not this one unless `loop`. */
  broadcast(value: unknown, loop?: boolean): Promise<DispatcherResponse>;
  /** `expire`: absolute unix time in seconds, 0 = never. */
  set(key: Key, value: unknown, expire?: number): Promise<DispatcherResponse>;
  /** `value`: the entry, or null when missing or expired. */
  get(key: Key): Promise<DispatcherResponse>;
  delete(key: Key): Promise<DispatcherResponse>;
  deleteAll(): Promise<DispatcherResponse>;
  count(): Promise<DispatcherResponse>;
  /** Higher priorities first, FIFO within a priority. */
  qpush(key: Key, value: unknown, priority?: number): Promise<DispatcherResponse>;
  qpop(key: Key, options?: QpopOptions): Promise<DispatcherResponse>;
  qcount(key: Key): Promise<DispatcherResponse>;
  qdelete(key: Key): Promise<DispatcherResponse>;
  qdeleteAll(): Promise<DispatcherResponse>;
  on<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  once<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  off<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
}
