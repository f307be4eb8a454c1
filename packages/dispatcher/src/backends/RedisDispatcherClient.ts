import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import { redis } from '@beyod/protocols';
import type { Delivery, DispatcherResponse } from '../Client';
import { DispatcherError, DispatcherErrorCodes } from '../errors';
import type { Key } from '../store/ChannelStore';
import { keyName } from '../wire';
import { ClusterEngine, type Engine, StandaloneEngine } from './redisEngine';
import {
  Deadlines,
  answer,
  checkKeyList,
  checkKeysThrow,
  checkNumber,
  checkSingleKey,
  decodeValue,
  encodeValue,
  fromRedis,
} from './requests';
import type { RedisTarget } from './targets';
import type { DeliveryEvent, DispatcherClient, DispatcherClientEvents, QpopOptions } from './types';

/** Options of the Redis backends (createClient reads them from the target and the common options). */
export interface RedisDispatcherOptions {
  redis: RedisTarget;
  cluster: boolean;
  /** Prefix of every key and channel: several applications share one Redis. Default 'beyod'. */
  prefix?: string;
  defaultChannel?: Key | Key[];
  /** Redis AUTH password when the URL has none (the dispatcher's `token`). */
  token?: string;
  reconnectInterval?: number;
  connectTimeout?: number;
  requestTimeout?: number;
  maxQueuedRequests?: number;
  /** Items one queue may hold (0 = no limit). Default 0. */
  queueSize?: number;
  /** Idle connections kept (per node) for blocking qpop. Default 4. */
  maxIdleBlocking?: number;
  /** Options of the underlying redis.Client connections (tls, name, ...). */
  redisOptions?: Partial<redis.RedisClientOptions>;
}

/*
 * Queues: a sorted set per queue. Score = -priority, so ZPOPMIN / BZPOPMIN take the highest
 * priority; among equal scores Redis orders members by their bytes, so each member starts with a
 * 16-digit sequence number (the last of that priority + 1, read in the same script): FIFO
 * within a priority, through BZPOPMIN too. Blocked BZPOPMIN clients are served in the order they
 * blocked, as the dispatcher serves blocked pops.
 */
const QPUSH = `local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if limit > 0 and n >= limit then return -1 end
local last = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)[1]
local seq = 0
if last then seq = tonumber(string.sub(last, 1, 16)) + 1 end
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%016d', seq) .. ARGV[2])
return n + 1`;

const QDELETE = `local n = redis.call('ZCARD', KEYS[1])
if n > 0 then redis.call('DEL', KEYS[1]) end
return n`;

interface Script {
  text: string;
  sha: string;
}
const script = (text: string): Script => ({ text, sha: createHash('sha1').update(text).digest('hex') });
const SCRIPTS = { qpush: script(QPUSH), qdelete: script(QDELETE) };

/** Glob characters of SCAN MATCH, escaped so a prefix matches only itself. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

const SOURCE = JSON.stringify(`${os.hostname()}:${process.pid}`);

/**
 * The dispatcher Client API over Redis (standalone, or Redis Cluster with sharded pub/sub).
 * Keys: `<prefix>:h:<key>` (hash entries, one string each, with PXAT expiry), `<prefix>:q:{<key>}`
 * (queues, sorted sets), channels `<prefix>:c:<key>`, broadcast `<prefix>:b`. Messages travel as
 * the dispatcher's delivery packet in JSON, so the subscriber sees the same event. See
 * docs/scaling.md for what differs from the beyod dispatcher.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RedisDispatcherClient extends EventEmitter implements DispatcherClient {
  readonly target: string;
  readonly prefix: string;
  readonly defaultChannel: Key[];
  readonly requestTimeout: number;
  queueSize: number;
  private readonly engine: Engine;
  private readonly deadlines: Deadlines;
  /** Channels wanted (besides defaultChannel): name → key as first given. */
  private readonly subscriptions = new Map<string, Key>();
  private readonly id = randomBytes(8).toString('hex');
  private readonly broadcastChannel: string;
  private broadcastSubscribed = false;
  private closed = false;
  /** connect() has subscribed defaultChannel once: later 'ready's are reconnects (resubscribed). */
  private initialized = false;
  /** connect() was called (requests before it fail with NOT_CONNECTED, as with Client). */
  private started = false;

  constructor(options: RedisDispatcherOptions) {
    super();
    const prefix = options.redis.prefix ?? options.prefix ?? 'beyod';
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
      throw new DispatcherError(
        DispatcherErrorCodes.INVALID_ARGUMENT,
        `redis prefix ${JSON.stringify(prefix)}: must be a non-empty string without { or } (they would change the hash slots of queue keys)`,
      );
    }
    this.prefix = prefix;
    this.broadcastChannel = `${prefix}:b`;
    const dc = options.defaultChannel;
    this.defaultChannel = dc === undefined ? [] : checkKeysThrow('defaultChannel', dc);
    this.requestTimeout = options.requestTimeout ?? 10;
    this.queueSize = options.queueSize ?? 0;
    const r = options.redis;
    const client: Omit<redis.RedisClientOptions, 'target'> = {
      ...options.redisOptions,
      username: r.username ?? options.redisOptions?.username,
      password: r.password ?? options.redisOptions?.password ?? (options.token || undefined),
      db: r.db ?? options.redisOptions?.db,
      reconnectInterval: options.reconnectInterval ?? 3,
      connectTimeout: options.connectTimeout,
      offlineTimeout: this.requestTimeout,
      maxOfflineQueue: options.maxQueuedRequests ?? 1000,
    };
    const engineOptions = { urls: r.urls, client, maxIdleBlocking: options.maxIdleBlocking ?? 4 };
    this.engine = options.cluster ? new ClusterEngine(engineOptions) : new StandaloneEngine(engineOptions);
    this.target = this.engine.target;
    this.deadlines = new Deadlines(this.target);
    this.engine.on('delivery', (channel, message) => this.onDelivery(channel, message));
    // 'connect' means connected and subscribed: the first time, connect() says it once done.
    this.engine.on('ready', () => this.initialized && this.emit('connect'));
    this.engine.on('close', (reason, error) => this.emit('close', { reason, error }));
    this.engine.on('error', (e) => this.listenerCount('error') > 0 && this.emit('error', e));
  }

  get connected(): boolean {
    return this.engine.ready;
  }

  /** Connect, then subscribe defaultChannel (and the broadcast channel). */
  async connect(): Promise<void> {
    this.started = true;
    try {
      await this.engine.connect();
    } catch (e) {
      this.started = false;
      throw fromRedis(e, 'connect', this.target);
    }
    // After a reconnect, redis.Client subscribes again to what it had: only the first time here.
    const fresh = this.defaultChannel.filter((k) => !this.subscriptions.has(keyName(k)));
    if (fresh.length > 0) {
      try {
        await this.addSubscriptions(fresh);
      } catch (e) {
        throw fromRedis(e, 'subscribe', this.target);
      }
    }
    if (!this.initialized) {
      this.initialized = true;
      this.emit('connect');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.engine.close();
  }

  subscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = checkKeysThrow('subscribe', keys);
    return this.run(
      'subscribe',
      () => this.addSubscriptions(list),
      () => answer('subscribe', keys),
    );
  }

  unsubscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = checkKeysThrow('unsubscribe', keys);
    return this.run(
      'unsubscribe',
      async () => {
        const names = list.map((k) => this.channel(k));
        const left = new Set(this.subscriptions.keys());
        for (const k of list) left.delete(keyName(k));
        // the broadcast channel goes with the last channel, as the dispatcher's broadcast reaches
        // only connections with at least one subscription
        const last = left.size === 0 && this.broadcastSubscribed;
        if (last) names.push(this.broadcastChannel);
        await this.engine.unsubscribe(names);
        for (const k of list) this.subscriptions.delete(keyName(k));
        if (last) this.broadcastSubscribed = false;
      },
      () => answer('unsubscribe', keys),
    );
  }

  /** Subscribe; the channels are recorded once Redis confirmed them. */
  private async addSubscriptions(list: Key[]): Promise<void> {
    const names = list.map((k) => this.channel(k));
    const withBroadcast = !this.broadcastSubscribed;
    if (withBroadcast) names.push(this.broadcastChannel);
    await this.engine.subscribe(names);
    for (const k of list) if (!this.subscriptions.has(keyName(k))) this.subscriptions.set(keyName(k), k);
    if (withBroadcast) this.broadcastSubscribed = true;
  }

  publish(keys: Key | Key[], value: unknown): Promise<DispatcherResponse> {
    return this.run(
      'publish',
      async () => {
        const list = checkKeyList('publish', keys);
        const json = encodeValue('publish', value);
        const counts = await Promise.all(
          list.map((k) =>
            this.engine.publish(this.channel(k), `{"command":"message","key":${JSON.stringify(k)},"value":${json},"source":${SOURCE}}`),
          ),
        );
        return counts.reduce((a, b) => a + b, 0);
      },
      (published) => answer('publish', keys, { published }),
    );
  }

  broadcast(value: unknown, loop = false): Promise<DispatcherResponse> {
    return this.run(
      'broadcast',
      async () => {
        const json = encodeValue('broadcast', value);
        const skip = loop ? '' : `,"skip":${JSON.stringify(this.id)}`;
        const n = await this.engine.publish(this.broadcastChannel, `{"command":"broadcast","value":${json},"source":${SOURCE}${skip}}`);
        // Redis counted this client too when it listens to the broadcast channel
        return !loop && this.broadcastSubscribed && n > 0 ? n - 1 : n;
      },
      (published) => answer('broadcast', null, { published }),
    );
  }

  set(key: Key, value: unknown, expire = 0): Promise<DispatcherResponse> {
    return this.run(
      'set',
      async () => {
        const k = this.hashKey(checkSingleKey('set', key));
        const json = encodeValue('set', value);
        const at = checkNumber('set', 'expire', expire, 0);
        if (at > 0) await this.engine.call('SET', k, json, 'PXAT', Math.max(1, Math.floor(at * 1000)));
        else await this.engine.call('SET', k, json);
      },
      () => answer('set', key),
    );
  }

  get(key: Key): Promise<DispatcherResponse> {
    return this.run(
      'get',
      () => this.engine.call('GET', this.hashKey(checkSingleKey('get', key))),
      (v) => answer('get', key, { value: decodeValue(v) }),
    );
  }

  delete(key: Key): Promise<DispatcherResponse> {
    return this.run(
      'delete',
      () => this.engine.call<number>('DEL', this.hashKey(checkSingleKey('delete', key))),
      (n) => answer('delete', key, { value: n }),
    );
  }

  /** Deletes this prefix's hash entries (SCAN, then DEL; every master of a cluster). */
  deleteAll(): Promise<DispatcherResponse> {
    return this.run(
      'deleteall',
      () => this.sweep(`${globEscape(this.prefix)}:h:*`, 'string', (k) => this.engine.call<number>('DEL', k)),
      (n) => answer('deleteall', null, { value: n }),
      0,
    );
  }

  /** Live entries of this prefix (SCAN: proportional to the keys of the database). */
  count(): Promise<DispatcherResponse> {
    return this.run(
      'count',
      async () => {
        const seen = new Set<string>();
        for await (const keys of this.engine.scan(`${globEscape(this.prefix)}:h:*`, 'string')) for (const k of keys) seen.add(k);
        return seen.size;
      },
      (n) => answer('count', null, { value: n }),
      0,
    );
  }

  qpush(key: Key, value: unknown, priority = 0): Promise<DispatcherResponse> {
    return this.run(
      'qpush',
      async () => {
        const q = this.queueKey(checkSingleKey('qpush', key));
        const json = encodeValue('qpush', value);
        const p = checkNumber('qpush', 'priority', priority);
        const n = await this.script<number>(SCRIPTS.qpush, q, p === 0 ? '0' : String(-p), json, this.queueSize);
        if (n < 0) {
          throw new DispatcherError(
            DispatcherErrorCodes.EXCEED_LIMIT,
            `qpush failed: queue ${JSON.stringify(key)} is full (queueSize ${this.queueSize}) (code 740)`,
            740,
            { limit: 'queueSize' },
          );
        }
        return n;
      },
      (n) => answer('qpush', key, { value: n }),
    );
  }

  qpop(key: Key, options: QpopOptions = {}): Promise<DispatcherResponse> {
    const { block = false, timeout = 0 } = options;
    if (block !== true) {
      return this.run(
        'qpop',
        () => this.engine.call<redis.RespValue[] | null>('ZPOPMIN', this.queueKey(checkSingleKey('qpop', key))),
        (r) => popped(key, r, 0),
      );
    }
    return this.run(
      'qpop',
      () => {
        const q = this.queueKey(checkSingleKey('qpop', key));
        const t = checkNumber('qpop', 'timeout', timeout, 0);
        return this.engine.blocking<redis.RespValue[] | null>('BZPOPMIN', q, t);
      },
      (r) => popped(key, r, 1),
      typeof timeout === 'number' && timeout > 0 ? timeout + this.requestTimeout : 0,
    );
  }

  qcount(key: Key): Promise<DispatcherResponse> {
    return this.run(
      'qcount',
      () => this.engine.call<number>('ZCARD', this.queueKey(checkSingleKey('qcount', key))),
      (n) => answer('qcount', key, { value: n }),
    );
  }

  qdelete(key: Key): Promise<DispatcherResponse> {
    return this.run(
      'qdelete',
      () => this.script<number>(SCRIPTS.qdelete, this.queueKey(checkSingleKey('qdelete', key))),
      (n) => answer('qdelete', key, { value: n }),
    );
  }

  /** Empties this prefix's queues (SCAN, then one script per queue; every master of a cluster). */
  qdeleteAll(): Promise<DispatcherResponse> {
    return this.run(
      'qdeleteall',
      () => this.sweep(`${globEscape(this.prefix)}:q:*`, 'zset', (k) => this.script<number>(SCRIPTS.qdelete, k)),
      (n) => answer('qdeleteall', null, { value: n }),
      0,
    );
  }

  // internals

  private channel(k: Key): string {
    return `${this.prefix}:c:${keyName(k)}`;
  }

  private hashKey(k: Key): string {
    return `${this.prefix}:h:${keyName(k)}`;
  }

  /** The {tag} keeps each queue's key in one slot whatever the prefix (which has no braces). */
  private queueKey(k: Key): string {
    return `${this.prefix}:q:{${keyName(k)}}`;
  }

  /**
   * Run one request: validation errors and Redis errors reject as DispatcherErrors, the answer
   * is shaped by `shape`, and `timeout` seconds (default requestTimeout) bound the wait.
   */
  private run<T>(
    command: string,
    work: () => Promise<T>,
    shape: (v: T) => DispatcherResponse,
    timeout = this.requestTimeout,
  ): Promise<DispatcherResponse> {
    if (this.closed || !this.started) {
      const why = this.closed ? 'the client was closed' : 'call connect() first';
      return Promise.reject(new DispatcherError(DispatcherErrorCodes.NOT_CONNECTED, `${command}: not connected to ${this.target}; ${why}`));
    }
    let p: Promise<T>;
    try {
      p = work();
    } catch (e) {
      return Promise.reject(fromRedis(e, command, this.target));
    }
    const done = p.then(shape, (e: unknown) => {
      if (this.closed) throw new DispatcherError(DispatcherErrorCodes.CLIENT_CLOSED, `${command} (${this.target}): the client was closed`);
      throw fromRedis(e, command, this.target);
    });
    return this.deadlines.wrap(done, timeout, command, timeout !== this.requestTimeout);
  }

  private async script<T>(s: Script, key: string, ...args: redis.RedisArg[]): Promise<T> {
    try {
      return await this.engine.call<T>('EVALSHA', s.sha, 1, key, ...args);
    } catch (e) {
      if (e instanceof redis.RedisReplyError && e.prefix === 'NOSCRIPT') return this.engine.call<T>('EVAL', s.text, 1, key, ...args);
      throw e;
    }
  }

  /** Apply `each` to every key matching, in batches; sums what each returns. */
  private async sweep(match: string, type: string, each: (key: string) => Promise<number>): Promise<number> {
    let n = 0;
    for await (const keys of this.engine.scan(match, type)) {
      for (const r of await Promise.all(keys.map(each))) n += r;
    }
    return n;
  }

  private onDelivery(channel: string, text: string): void {
    let m: Record<string, unknown> | undefined;
    if (text.startsWith('{"command":')) {
      try {
        m = JSON.parse(text) as Record<string, unknown>;
      } catch {
        m = undefined;
      }
    }
    if (channel === this.broadcastChannel) {
      if (m === undefined || m.command !== 'broadcast') m = { command: 'broadcast', value: m ?? text, source: '' };
      if (m.skip !== undefined) {
        if (m.skip === this.id) return;
        delete m.skip;
      }
      this.emit('broadcast', { sender: this, message: m as unknown as Delivery });
      return;
    }
    // Published by something other than this backend: the channel without its prefix is the key.
    if (m === undefined || m.command !== 'message')
      m = { command: 'message', key: channel.slice(this.prefix.length + 3), value: text, source: '' };
    this.emit('message', { sender: this, message: m as unknown as Delivery });
  }
}

/** A ZPOPMIN reply [member, score] (or BZPOPMIN's [key, member, score]) as a qpop answer. */
function popped(key: Key, r: redis.RespValue[] | null, offset: number): DispatcherResponse {
  if (r === null || r.length < offset + 2) return answer('qpop', key, { value: null });
  const member = String(r[offset]);
  const score = Number(r[offset + 1]);
  return answer('qpop', key, { value: decodeValue(member.slice(16)), priority: score === 0 ? 0 : -score });
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface RedisDispatcherClient {
  on<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  once<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  off<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  emit<K extends keyof DispatcherClientEvents>(event: K, ...args: DispatcherClientEvents[K]): boolean;
}

export type { DeliveryEvent };
