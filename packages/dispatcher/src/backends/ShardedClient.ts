import { EventEmitter } from 'node:events';
import type { CloseEvent, MessageEvent } from '@beyod/core';
import { Client, type ClientOptions, type Delivery, type DispatcherResponse } from '../Client';
import type { Key } from '../store/ChannelStore';
import { keyName } from '../wire';
import { type Weighted, fnv1a32, place } from './rendezvous';
import { answer, checkKeysThrow } from './requests';
import type { DispatcherClient, DispatcherClientEvents, QpopOptions } from './types';

/**
 * The channel every subscribed ShardedClient also holds, on the dispatcher it is placed on:
 * broadcasts go to that one dispatcher, which reaches each subscribed client once.
 */
export const BROADCAST_CHANNEL = 'beyod:broadcast';

class Shard implements Weighted {
  readonly seed: number;
  live = false;
  /** Had one connection attempt (made or failed): connect() waits for every shard to have one. */
  tried = false;
  /** Channels this shard's Client holds (it subscribes them again on each reconnect). */
  readonly channels = new Map<string, Key>();

  constructor(
    readonly url: string,
    readonly client: Client,
  ) {
    this.seed = fnv1a32(url);
  }
}

const noop = (): void => {};

/**
 * The dispatcher Client API over several beyod dispatchers: each channel and key is placed on
 * one of them by rendezvous hashing over the dispatchers that are connected. When one goes
 * away, its channels and keys are placed on the others (subscriptions are made there at once);
 * when it comes back, they move home. What a dead dispatcher held (hash entries, queued items)
 * is lost — see docs/dispatcher.md, "Several dispatchers".
 *
 * Every process must list the same dispatchers (the same URLs; the order does not matter).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ShardedClient extends EventEmitter implements DispatcherClient {
  readonly target: string;
  readonly defaultChannel: Key[];
  private readonly shards: Shard[];
  /** Channels wanted, besides the broadcast channel: name → key as first given. */
  private readonly wanted = new Map<string, Key>();
  private started = false;
  private settled = false;
  private settleWaiters: Array<() => void> = [];

  constructor(options: Omit<ClientOptions, 'target' | 'defaultChannel'> & { targets: string[]; defaultChannel?: Key | Key[] }) {
    super();
    const { targets, defaultChannel, ...rest } = options;
    this.target = targets.join(',');
    this.defaultChannel = defaultChannel === undefined ? [] : checkKeysThrow('defaultChannel', defaultChannel);
    for (const k of this.defaultChannel) this.wanted.set(keyName(k), k);
    this.shards = targets.map((url) => {
      const shard = new Shard(url, new Client({ ...rest, target: url }));
      const c = shard.client;
      c.on('message', (e: MessageEvent<Delivery, Client>) => {
        if (e.message.key !== BROADCAST_CHANNEL) this.emit('message', { sender: this, message: e.message });
      });
      c.on('broadcast', (e: MessageEvent<Delivery, Client>) => this.emit('broadcast', { sender: this, message: e.message }));
      c.on('connect', () => this.onShardUp(shard));
      c.on('close', (e: CloseEvent) => this.onShardDown(shard, e));
      c.on('error', (e) => {
        this.markTried(shard);
        if (this.listenerCount('error') > 0) this.emit('error', e);
      });
      return shard;
    });
  }

  /** True while at least one dispatcher is connected. */
  get connected(): boolean {
    return this.shards.some((s) => s.live);
  }

  /** The dispatchers connected now. */
  get liveTargets(): string[] {
    return this.shards.filter((s) => s.live).map((s) => s.url);
  }

  /** Where `key` (a channel, hash key or queue) goes now. */
  targetOf(key: Key): string {
    return this.home(keyName(key)).url;
  }

  /**
   * Connect to every dispatcher. Resolves once each has been tried once and at least one is
   * connected, with defaultChannel subscribed on its dispatcher; the others keep reconnecting
   * (every reconnectInterval) and take their share when they come up.
   */
  async connect(): Promise<void> {
    this.started = true;
    const attempts = this.shards.map((s) =>
      s.client.connect().then(
        () => this.markTried(s),
        (e: unknown) => {
          this.markTried(s);
          throw e;
        },
      ),
    );
    await new Promise<void>((resolve, reject) => {
      this.settleWaiters.push(resolve);
      // without reconnection a failed attempt is final: fail when every one failed
      void Promise.allSettled(attempts).then((r) => {
        const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (!this.shards.some((s) => s.live) && failed) reject(failed.reason as Error);
      });
      this.checkSettled();
    });
    await this.reconcile();
    this.emit('connect');
  }

  async close(): Promise<void> {
    this.started = false;
    await Promise.all(this.shards.map((s) => s.client.close()));
  }

  subscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = checkKeysThrow('subscribe', keys);
    for (const k of list) if (!this.wanted.has(keyName(k))) this.wanted.set(keyName(k), k);
    return this.reconcile().then(() => answer('subscribe', keys));
  }

  unsubscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = checkKeysThrow('unsubscribe', keys);
    const ops: Array<Promise<unknown>> = [];
    for (const k of list) {
      const name = keyName(k);
      this.wanted.delete(name);
      for (const s of this.shards) {
        if (!s.channels.has(name)) continue;
        s.channels.delete(name);
        ops.push(s.client.unsubscribe(k));
      }
    }
    return Promise.all([...ops, this.reconcile()]).then(() => answer('unsubscribe', keys));
  }

  async publish(keys: Key | Key[], value: unknown): Promise<DispatcherResponse> {
    if (!Array.isArray(keys)) return this.home(keyName(keys)).client.publish(keys, value);
    const groups = new Map<Shard, Key[]>();
    for (const k of keys) {
      const s = this.home(keyName(k as Key));
      const g = groups.get(s);
      if (g === undefined) groups.set(s, [k as Key]);
      else g.push(k as Key);
    }
    if (groups.size <= 1) return this.home(keyName((keys[0] ?? '') as Key)).client.publish(keys, value);
    const answers = await Promise.all([...groups].map(([s, ks]) => s.client.publish(ks, value)));
    return answer('publish', keys, { published: answers.reduce((n, a) => n + (a.published ?? 0), 0) });
  }

  broadcast(value: unknown, loop = false): Promise<DispatcherResponse> {
    return this.home(BROADCAST_CHANNEL).client.broadcast(value, loop);
  }

  set(key: Key, value: unknown, expire = 0): Promise<DispatcherResponse> {
    return this.clientFor(key).set(key, value, expire);
  }

  get(key: Key): Promise<DispatcherResponse> {
    return this.clientFor(key).get(key);
  }

  delete(key: Key): Promise<DispatcherResponse> {
    return this.clientFor(key).delete(key);
  }

  /** On every connected dispatcher; `value` sums what each removed. */
  deleteAll(): Promise<DispatcherResponse> {
    return this.everywhere('deleteall', (c) => c.deleteAll());
  }

  /** On every connected dispatcher; `value` sums their counts. */
  count(): Promise<DispatcherResponse> {
    return this.everywhere('count', (c) => c.count());
  }

  qpush(key: Key, value: unknown, priority = 0): Promise<DispatcherResponse> {
    return this.clientFor(key).qpush(key, value, priority);
  }

  qpop(key: Key, options: QpopOptions = {}): Promise<DispatcherResponse> {
    return this.clientFor(key).qpop(key, options);
  }

  qcount(key: Key): Promise<DispatcherResponse> {
    return this.clientFor(key).qcount(key);
  }

  qdelete(key: Key): Promise<DispatcherResponse> {
    return this.clientFor(key).qdelete(key);
  }

  qdeleteAll(): Promise<DispatcherResponse> {
    return this.everywhere('qdeleteall', (c) => c.qdeleteAll());
  }

  // placement

  /** Rendezvous over the connected dispatchers (over all of them while none is). */
  private home(name: string): Shard {
    const live = this.shards.filter((s) => s.live);
    return place(name, live.length > 0 ? live : this.shards) as Shard;
  }

  /** The client of the dispatcher a key lives on. Keys are checked by the dispatcher itself. */
  private clientFor(key: Key): Client {
    return this.home(String(key)).client;
  }

  private async everywhere(command: string, f: (c: Client) => Promise<DispatcherResponse>): Promise<DispatcherResponse> {
    const live = this.shards.filter((s) => s.live);
    const answers = await Promise.all((live.length > 0 ? live : this.shards).map((s) => f(s.client)));
    return answer(command, null, { value: answers.reduce((n, a) => n + Number(a.value ?? 0), 0) });
  }

  /**
   * Put each wanted channel (and the broadcast channel, while any is wanted) on its home
   * dispatcher, and take it off the other connected ones. Dispatchers that are down keep what
   * their Client will subscribe again on reconnect; that is sorted out when they are back.
   */
  private reconcile(): Promise<unknown> {
    const want = new Map(this.wanted);
    if (want.size > 0) want.set(BROADCAST_CHANNEL, BROADCAST_CHANNEL);
    const add = new Map<Shard, Key[]>();
    const remove = new Map<Shard, Key[]>();
    const push = (m: Map<Shard, Key[]>, s: Shard, k: Key) => {
      const list = m.get(s);
      if (list === undefined) m.set(s, [k]);
      else list.push(k);
    };
    for (const [name, key] of want) {
      const home = this.home(name);
      for (const s of this.shards) {
        if (s !== home && s.live && s.channels.has(name)) {
          s.channels.delete(name);
          push(remove, s, key);
        }
      }
      if (!home.channels.has(name)) {
        home.channels.set(name, key);
        push(add, home, key);
      }
    }
    for (const s of this.shards) {
      if (!s.live) continue;
      for (const [name, key] of s.channels) {
        if (!want.has(name)) {
          s.channels.delete(name);
          push(remove, s, key);
        }
      }
    }
    const ops: Array<Promise<unknown>> = [];
    for (const [s, keys] of remove) ops.push(s.client.unsubscribe(keys).catch(noop));
    for (const [s, keys] of add) {
      ops.push(
        s.client.subscribe(keys).catch((e: unknown) => {
          for (const k of keys) if (s.channels.get(keyName(k)) === k) s.channels.delete(keyName(k));
          throw e;
        }),
      );
    }
    return Promise.all(ops);
  }

  private markTried(s: Shard): void {
    s.tried = true;
    this.checkSettled();
  }

  private checkSettled(): void {
    if (this.settled || !this.started) return;
    if (!this.shards.every((s) => s.tried) || !this.shards.some((s) => s.live)) return;
    this.settled = true;
    const w = this.settleWaiters;
    this.settleWaiters = [];
    for (const f of w) f();
  }

  private onShardUp(s: Shard): void {
    // Until connect() has heard from every dispatcher, placement would only move channels twice.
    const settled = this.settled;
    s.live = true;
    this.markTried(s);
    if (!settled) return;
    this.reconcile().then(
      () => this.emit('connect'),
      (e: unknown) => this.listenerCount('error') > 0 && this.emit('error', e as Error),
    );
  }

  private onShardDown(s: Shard, e: CloseEvent): void {
    const was = s.live;
    s.live = false;
    if (!was) return;
    this.emit('close', { reason: e.reason, error: e.error });
    if (this.settled && this.started)
      this.reconcile().catch((err: unknown) => this.listenerCount('error') > 0 && this.emit('error', err as Error));
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface ShardedClient {
  on<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  once<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  off<K extends keyof DispatcherClientEvents>(event: K, listener: (...args: DispatcherClientEvents[K]) => void): this;
  emit<K extends keyof DispatcherClientEvents>(event: K, ...args: DispatcherClientEvents[K]): boolean;
}
