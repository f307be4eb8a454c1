import { EventEmitter } from 'node:events';
import { BeyodError, ErrorCodes, type MessageEvent, parseSocketUrl } from '@beyod/core/internal';
import { Client } from './Client';
import { type ClusterNode, type SlotMap, nodeAddr, parseClusterSlots } from './clusterSlots';
import { RedisErrorCodes } from './errors';
import type { PubSubMessage, RedisClientOptions } from './options';
import { BlockingPool } from './Pool';
import { SLOTS, hashSlot } from './slot';
import { SUBSCRIPTION_COMMANDS } from './Subscriptions';
import { type RedisArg, RedisReplyError, type RespValue } from './types';

/** Options of a redis.Cluster. */
export interface RedisClusterOptions extends Omit<RedisClientOptions, 'target' | 'db' | 'reconnectInterval'> {
  /** Some nodes of the cluster (tcp://host:port or tls://host:port); the others are discovered. */
  seeds: string[];
  /** MOVED / ASK redirections one command may follow. Default 16. */
  maxRedirections?: number;
  /** Seconds between slot-map refreshes while nothing happens; 0 = only on demand. Default 30. */
  refreshInterval?: number;
  /** Connections kept open per node for blocking commands when idle. Default 4. */
  maxIdleBlocking?: number;
}

/** Events of a redis.Cluster. */
export interface RedisClusterEvents {
  /** A shard-channel delivery (`kind: 'smessage'`); `event.sender` is the node's connection. */
  message: [MessageEvent<PubSubMessage>];
  /** The slot map changed (a failover, a resharding). */
  slots: [];
  /** A node connection failed or a refresh found no node; emitted only when listened to. */
  error: [Error];
}

interface Node {
  info: ClusterNode;
  url: string;
  /** Pipelined commands. */
  cmd?: Client;
  /** Shard-channel subscriptions (RESP2 subscriber mode). */
  sub?: Client;
  /** Blocking commands. */
  pool?: BlockingPool;
}

/** Commands with no key: sent to any master. */
const KEYLESS = new Set([
  'ping', 'echo', 'info', 'cluster', 'command', 'config', 'time', 'dbsize', 'flushall', 'flushdb', 'scan',
  'randomkey', 'script', 'function', 'publish', 'pubsub', 'client', 'memory', 'latency', 'slowlog', 'lastsave',
  'debug', 'acl', 'hello', 'auth', 'readonly', 'readwrite', 'wait', 'role', 'save', 'bgsave', 'bgrewriteaof',
]); // prettier-ignore

/** The errors that say a command was never sent: safe to send again elsewhere. */
const NOT_SENT = new Set<string>([
  ErrorCodes.CONNECT_FAILED,
  ErrorCodes.CONNECT_TIMEOUT,
  ErrorCodes.NOT_CONNECTED,
  RedisErrorCodes.QUEUE_FULL,
  RedisErrorCodes.HANDSHAKE_FAILED,
]);

const noop = (): void => {};
// Not unref'd: a command waiting out a failover must keep a one-shot script alive until it
// is served or its offlineTimeout passes (as StreamClient's reconnection timer does).
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Redis Cluster client: each command goes to the master of its key's hash slot, over one
 * pipelined connection per master (a redis.Client). It follows MOVED (and refreshes the slot
 * map) and ASK (ASKING, then the command, on the node named), waits out CLUSTERDOWN / TRYAGAIN
 * and failovers up to `offlineTimeout` seconds, and keeps shard-channel subscriptions
 * (SSUBSCRIBE) on whichever master owns each channel, moving them after a failover.
 *
 * A command whose connection is lost after it was sent fails with
 * BEYOD_REDIS_CONNECTION_LOST (it may have run) and is not resent; one that could not be sent
 * (node down, connection refused) is sent again once the slot map names a live master.
 *
 *     const c = new redis.Cluster({ seeds: ['tcp://10.0.0.1:7000', 'tcp://10.0.0.2:7000'] });
 *     await c.connect();
 *     await c.call('SET', '{user:1}:name', 'ada');
 *     c.on('message', (e) => console.log(e.message.channel, e.message.message));
 *     await c.ssubscribe('news');
 *     await c.spublish('news', 'hello');
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Cluster extends EventEmitter {
  readonly maxRedirections: number;
  readonly refreshInterval: number;
  offlineTimeout: number;
  maxOfflineQueue: number;
  private readonly clientOptions: Omit<RedisClientOptions, 'target'>;
  private readonly scheme: 'tcp' | 'tls';
  private readonly seeds: string[];
  private readonly maxIdleBlocking: number;
  private masters: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly nodes = new Map<string, Node>();
  private started = false;
  private closed = false;
  private refreshing: Promise<boolean> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private lastRefreshError: Error | undefined;
  /** Commands waiting for their slot to be served again. */
  private waiting = 0;
  /** Shard channels wanted, and where each is subscribed (confirmed). */
  private readonly wanted = new Set<string>();
  private readonly placed = new Map<string, string>();
  private syncChain: Promise<boolean> = Promise.resolve(true);
  private resyncing = false;

  constructor(options: RedisClusterOptions) {
    super();
    const { seeds, maxRedirections, refreshInterval, maxIdleBlocking, ...clientOptions } = options;
    if (!Array.isArray(seeds) || seeds.length === 0) {
      throw new BeyodError(RedisErrorCodes.BAD_ARGUMENT, 'redis.Cluster needs at least one seed node (tcp://host:port)');
    }
    const parsed = seeds.map((s) => parseSocketUrl(s.includes('://') ? s : `tcp://${s}`));
    if (parsed.some((a) => a.transport !== 'tcp' && a.transport !== 'tls') || new Set(parsed.map((a) => a.transport)).size > 1) {
      throw new BeyodError(RedisErrorCodes.BAD_ARGUMENT, `redis.Cluster seeds must all be tcp:// or all tls://, got ${seeds.join(', ')}`);
    }
    this.scheme = parsed[0]!.transport as 'tcp' | 'tls';
    this.seeds = parsed.map((a) => nodeAddr(a.host, a.port));
    for (const a of parsed) this.node({ addr: nodeAddr(a.host, a.port), host: a.host, port: a.port });
    this.clientOptions = clientOptions;
    this.maxRedirections = maxRedirections ?? 16;
    this.refreshInterval = refreshInterval ?? 30;
    this.maxIdleBlocking = maxIdleBlocking ?? 4;
    this.offlineTimeout = clientOptions.offlineTimeout ?? 10;
    this.maxOfflineQueue = clientOptions.maxOfflineQueue ?? 1000;
  }

  /** Read the slot map from the first seed that answers. Rejects when none does. */
  async connect(): Promise<void> {
    if (this.closed) throw this.closedError();
    this.started = true;
    if (!(await this.refresh())) {
      this.started = false;
      const cause = this.lastRefreshError;
      throw new BeyodError(
        RedisErrorCodes.CLUSTER_UNAVAILABLE,
        `no node of the redis cluster answered CLUSTER SLOTS (tried ${[...this.nodes.keys()].join(', ')})${cause ? `: ${cause.message}` : ''}`,
        { seeds: this.seeds },
        { cause },
      );
    }
    if (this.refreshInterval > 0 && this.refreshTimer === undefined) {
      this.refreshTimer = setInterval(() => void this.refresh().then(() => this.checkSubscriptions()), this.refreshInterval * 1000);
      this.refreshTimer.unref();
    }
  }

  /** Close every connection; commands still waiting fail with BEYOD_CLIENT_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    const closing: Array<Promise<void>> = [];
    for (const n of this.nodes.values()) closing.push(...this.closeNode(n));
    await Promise.all(closing);
  }

  /** Masters serving at least one slot, as "host:port". */
  get masterNodes(): string[] {
    return [...new Set(this.masters.filter((m): m is string => m !== undefined))];
  }

  /** The master serving `slot` now, by the last slot map read. */
  masterOf(slot: number): string | undefined {
    return this.masters[slot];
  }

  /** Shard channels subscribed through this client. */
  get shardChannels(): string[] {
    return [...this.wanted];
  }

  /**
   * Send a command to the master of its key's slot. The key is the first argument, except for
   * EVAL / EVALSHA / FCALL (the first of the keys, if any) and for commands without a key
   * (PING, INFO, SCAN, PUBLISH...: any master). Keys of one command must share a slot (use
   * `{hash tags}`); otherwise Redis answers CROSSSLOT.
   */
  call<T = RespValue>(command: string, ...args: Array<RedisArg | ReadonlyArray<RedisArg>>): Promise<T> {
    const flat = flatten(command, args);
    const lower = command.toLowerCase();
    if (SUBSCRIPTION_COMMANDS.has(lower) || lower === 'multi' || lower === 'select') {
      return Promise.reject(
        new BeyodError(
          RedisErrorCodes.BAD_ARGUMENT,
          `redis.Cluster: ${command} cannot be routed; use ssubscribe()/sunsubscribe() for pub/sub, Lua scripts with {hash tags} for atomic groups`,
          { command },
        ),
      );
    }
    return this.route<T>(slotOfCommand(lower, flat), flat, false);
  }

  /** Run a blocking command (BZPOPMIN, BLPOP...) on a connection of its own to its key's master. */
  callBlocking<T = RespValue>(command: string, ...args: Array<RedisArg | ReadonlyArray<RedisArg>>): Promise<T> {
    const flat = flatten(command, args);
    return this.route<T>(slotOfCommand(command.toLowerCase(), flat), flat, true);
  }

  /** A command for one node ("host:port"), not redirected (SCAN, DBSIZE, FLUSHDB on each master). */
  callNode<T = RespValue>(addr: string, command: string, ...args: Array<RedisArg | ReadonlyArray<RedisArg>>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.cmdClient(addr).call<T>(command, ...args);
  }

  /** SPUBLISH on the channel's master; resolves with the number of subscribers that got it. */
  spublish(channel: RedisArg, message: RedisArg): Promise<number> {
    return this.route<number>(hashSlot(typeof channel === 'number' ? String(channel) : channel), ['SPUBLISH', channel, message], false);
  }

  /**
   * Subscribe to shard channels; deliveries are `message` events. Resolves with the number of
   * shard channels subscribed once these are confirmed by their masters. The subscriptions
   * follow their slots: after a failover or a resharding they are made again on the new master.
   */
  async ssubscribe(...channels: string[]): Promise<number> {
    if (channels.length === 0) throw new BeyodError(RedisErrorCodes.BAD_ARGUMENT, 'SSUBSCRIBE needs at least one channel');
    if (this.closed) throw this.closedError();
    if (!this.started) throw new BeyodError(ErrorCodes.NOT_CONNECTED, 'redis.Cluster: call connect() first', { seeds: this.seeds });
    for (const c of channels) this.wanted.add(String(c));
    await this.settleSubscriptions(channels.map(String));
    return this.wanted.size;
  }

  /** Unsubscribe from shard channels (all when none is given); resolves with the number left. */
  async sunsubscribe(...channels: string[]): Promise<number> {
    const list = channels.length === 0 ? [...this.wanted] : channels.map(String);
    for (const c of list) this.wanted.delete(c);
    await this.sync();
    return this.wanted.size;
  }

  /**
   * Read the slot map again (from a master, else a seed). Concurrent calls share one read.
   * Resolves with false when no node answered.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.readSlots().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async readSlots(): Promise<boolean> {
    const candidates = [...new Set([...this.masterNodes, ...this.seeds, ...this.nodes.keys()])];
    for (const addr of candidates) {
      if (this.closed) return false;
      const node = this.nodes.get(addr);
      try {
        const reply = await this.cmdClient(addr).call('CLUSTER', 'SLOTS');
        const map = parseClusterSlots(reply, node?.info.host ?? addr.slice(0, addr.lastIndexOf(':')));
        if (map.covered === 0) continue;
        this.apply(map);
        return true;
      } catch (e) {
        this.lastRefreshError = e as Error;
      }
    }
    if (this.lastRefreshError && this.listenerCount('error') > 0) this.emit('error', this.lastRefreshError);
    return false;
  }

  private apply(map: SlotMap): void {
    let changed = false;
    for (let s = 0; s < SLOTS; s++) {
      if (this.masters[s] !== map.masters[s]) {
        changed = true;
        break;
      }
    }
    for (const info of map.nodes.values()) this.node(info);
    this.masters = map.masters;
    const masters = new Set(this.masterNodes);
    // Connections to nodes that serve no slot now (failed, or demoted to replica) go.
    for (const n of this.nodes.values()) if (!masters.has(n.info.addr)) this.closeNode(n);
    if (changed) {
      if (this.listenerCount('slots') > 0) this.emit('slots');
      this.resync();
    }
  }

  /** Send one command where its slot is served, following redirections and waiting out failovers. */
  private async route<T>(slot: number, args: RedisArg[], blocking: boolean): Promise<T> {
    const deadline = this.offlineTimeout > 0 ? Date.now() + this.offlineTimeout * 1000 : Infinity;
    let redirections = 0;
    let ask: string | undefined;
    let lastError: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw this.closedError();
      if (!this.started) {
        throw new BeyodError(ErrorCodes.NOT_CONNECTED, 'redis.Cluster: call connect() first', { seeds: this.seeds });
      }
      const addr = ask ?? (slot < 0 ? this.masterNodes[0] : this.masters[slot]);
      if (addr !== undefined) {
        try {
          if (blocking) return await this.pool(addr).run<T>(args, ask !== undefined);
          const client = this.cmdClient(addr);
          if (ask !== undefined) client.call('ASKING').catch(noop); // written right before the command
          return await client.call<T>(String(args[0]), args.slice(1));
        } catch (e) {
          const err = e as Error & { code?: string };
          if (err instanceof RedisReplyError) {
            const redirect = parseRedirect(err);
            if (redirect !== undefined) {
              if (++redirections > this.maxRedirections) {
                throw new BeyodError(
                  RedisErrorCodes.CLUSTER_REDIRECTIONS,
                  `redis cluster: ${String(args[0])} was redirected ${redirections - 1} times (last: ${err.message}); is the cluster being resharded?`,
                  { command: String(args[0]), slot },
                );
              }
              this.node(redirect.node);
              if (redirect.ask) {
                ask = redirect.node.addr;
              } else {
                ask = undefined;
                this.masters[redirect.slot] = redirect.node.addr;
                void this.refresh();
              }
              continue;
            }
            if (!/^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING)$/.test(err.prefix)) throw err;
          } else if (!NOT_SENT.has(err.code ?? '')) {
            void this.refresh();
            throw err;
          }
          lastError = err;
          ask = undefined;
        }
      }
      // The slot has no reachable master yet (failover under way): wait, read the map, retry.
      if (Date.now() >= deadline) throw this.offlineError(args, slot, lastError);
      if (this.waiting >= this.maxOfflineQueue) {
        throw new BeyodError(
          RedisErrorCodes.QUEUE_FULL,
          `redis cluster: ${this.waiting} commands already wait for their slot to be served (maxOfflineQueue ${this.maxOfflineQueue})`,
          { maxOfflineQueue: this.maxOfflineQueue },
        );
      }
      this.waiting++;
      try {
        await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500, Math.max(1, deadline - Date.now())));
        await this.refresh();
      } finally {
        this.waiting--;
      }
    }
  }

  private offlineError(args: RedisArg[], slot: number, cause: Error | undefined): BeyodError {
    return new BeyodError(
      RedisErrorCodes.OFFLINE_TIMEOUT,
      `redis cluster: ${String(args[0])} waited ${this.offlineTimeout} s for slot ${slot} to be served${cause ? ` (last error: ${cause.message})` : ''}`,
      { command: String(args[0]), slot },
      { cause },
    );
  }

  private closedError(): BeyodError {
    return new BeyodError(ErrorCodes.CLIENT_CLOSED, 'redis cluster client was closed', { seeds: this.seeds });
  }

  private node(info: ClusterNode): Node {
    let n = this.nodes.get(info.addr);
    if (n === undefined) {
      const host = info.host.includes(':') ? `[${info.host}]` : info.host;
      n = { info, url: `${this.scheme}://${host}:${info.port}` };
      this.nodes.set(info.addr, n);
    }
    return n;
  }

  private nodeByAddr(addr: string): Node {
    const existing = this.nodes.get(addr);
    if (existing) return existing;
    const i = addr.lastIndexOf(':');
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    return this.node({ addr, host, port: Number(addr.slice(i + 1)) });
  }

  private options(url: string): RedisClientOptions {
    return { ...this.clientOptions, target: url, reconnectInterval: 0, offlineTimeout: 0, maxOfflineQueue: this.maxOfflineQueue };
  }

  /** The node's command connection, opened on first use; a lost one is replaced on next use. */
  private cmdClient(addr: string): Client {
    return this.connection(addr, 'cmd');
  }

  /**
   * A node's command (`cmd`) or subscription (`sub`) connection, opened on first use. When it
   * goes, a command connection makes the map be read again; a subscription connection's
   * channels are placed again (on whichever master owns them by then).
   */
  private connection(addr: string, kind: 'cmd' | 'sub'): Client {
    const n = this.nodeByAddr(addr);
    const existing = n[kind];
    if (existing !== undefined) return existing;
    const c = new Client(this.options(n.url));
    n[kind] = c;
    const drop = () => {
      if (n[kind] !== c) return;
      n[kind] = undefined;
      if (this.closed) return;
      if (kind === 'cmd') {
        void this.refresh();
        return;
      }
      for (const [ch, at] of this.placed) if (at === addr) this.placed.delete(ch);
      this.resync();
    };
    if (kind === 'sub') c.on('message', (e) => this.emit('message', e));
    c.on('close', drop);
    c.on('error', (e) => this.listenerCount('error') > 0 && this.emit('error', e));
    c.connect().catch(drop);
    return c;
  }

  private pool(addr: string): BlockingPool {
    const n = this.nodeByAddr(addr);
    n.pool ??= new BlockingPool(this.options(n.url), this.maxIdleBlocking);
    return n.pool;
  }

  private closeNode(n: Node): Array<Promise<void>> {
    const out: Array<Promise<void>> = [];
    if (n.cmd) out.push(n.cmd.close());
    if (n.sub) out.push(n.sub.close());
    n.pool?.close();
    n.cmd = n.sub = n.pool = undefined;
    for (const [ch, at] of this.placed) if (at === n.info.addr) this.placed.delete(ch);
    return out;
  }

  // Shard-channel subscriptions

  private subClient(addr: string): Client {
    return this.connection(addr, 'sub');
  }

  /** Wait until `channels` are subscribed where they belong, or offlineTimeout passes. */
  private async settleSubscriptions(channels: string[]): Promise<void> {
    const deadline = this.offlineTimeout > 0 ? Date.now() + this.offlineTimeout * 1000 : Infinity;
    for (let attempt = 0; ; attempt++) {
      await this.sync();
      if (this.closed) throw this.closedError();
      if (channels.every((c) => !this.wanted.has(c) || this.placed.has(c))) return;
      if (Date.now() >= deadline) throw this.offlineError(['SSUBSCRIBE', ...channels], hashSlot(channels[0]!), this.lastRefreshError);
      await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
      await this.refresh();
    }
  }

  /** One reconciliation pass, after the previous one: true when every wanted channel is placed. */
  private sync(): Promise<boolean> {
    this.syncChain = this.syncChain.then(
      () => this.syncOnce(),
      () => this.syncOnce(),
    );
    return this.syncChain;
  }

  private async syncOnce(): Promise<boolean> {
    if (this.closed) return false;
    let complete = true;
    const subscribe = new Map<string, Map<number, string[]>>();
    const unsubscribe = new Map<string, Map<number, string[]>>();
    const add = (m: Map<string, Map<number, string[]>>, addr: string, slot: number, ch: string) => {
      let bySlot = m.get(addr);
      if (bySlot === undefined) m.set(addr, (bySlot = new Map()));
      const list = bySlot.get(slot);
      if (list === undefined) bySlot.set(slot, [ch]);
      else list.push(ch);
    };
    for (const [ch, at] of this.placed) {
      const slot = hashSlot(ch);
      if (this.wanted.has(ch) && this.masters[slot] === at) continue;
      this.placed.delete(ch);
      if (this.nodes.get(at)?.sub?.ready) add(unsubscribe, at, slot, ch);
    }
    for (const ch of this.wanted) {
      if (this.placed.has(ch)) continue;
      const slot = hashSlot(ch);
      const addr = this.masters[slot];
      if (addr === undefined) complete = false;
      else add(subscribe, addr, slot, ch);
    }
    const ops: Array<Promise<unknown>> = [];
    for (const [addr, bySlot] of unsubscribe) {
      const c = this.subClient(addr);
      for (const list of bySlot.values()) ops.push(c.call('SUNSUBSCRIBE', list).catch(noop));
    }
    for (const [addr, bySlot] of subscribe) {
      const c = this.subClient(addr);
      // One SSUBSCRIBE per slot: Redis refuses channels of several slots in one command.
      for (const list of bySlot.values()) {
        ops.push(
          c.call('SSUBSCRIBE', list).then(
            () => {
              for (const ch of list) if (this.wanted.has(ch) && this.nodes.get(addr)?.sub === c) this.placed.set(ch, addr);
            },
            (e: Error) => {
              complete = false;
              if (e instanceof RedisReplyError && parseRedirect(e) !== undefined) void this.refresh();
            },
          ),
        );
      }
    }
    await Promise.all(ops);
    return complete && [...this.wanted].every((c) => this.placed.has(c));
  }

  /** Re-place subscriptions in the background until every one is placed (after a loss or a map change). */
  private resync(): void {
    if (this.resyncing || this.closed || this.wanted.size === 0) return;
    this.resyncing = true;
    void (async () => {
      try {
        for (let attempt = 0; !this.closed; attempt++) {
          if (await this.sync()) return;
          await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 1000));
          await this.refresh();
        }
      } finally {
        this.resyncing = false;
      }
    })();
  }

  /** A node may drop shard channels of a slot it lost (SUNSUBSCRIBE pushes): notice it. */
  private checkSubscriptions(): void {
    const lists = new Map<string, Set<string>>();
    for (const [ch, at] of this.placed) {
      let set = lists.get(at);
      if (set === undefined) lists.set(at, (set = new Set(this.nodes.get(at)?.sub?.subscriptions.shardChannels ?? [])));
      if (!set.has(ch)) this.placed.delete(ch);
    }
    if ([...this.wanted].some((c) => !this.placed.has(c))) this.resync();
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Cluster {
  on<K extends keyof RedisClusterEvents>(event: K, listener: (...args: RedisClusterEvents[K]) => void): this;
  once<K extends keyof RedisClusterEvents>(event: K, listener: (...args: RedisClusterEvents[K]) => void): this;
  off<K extends keyof RedisClusterEvents>(event: K, listener: (...args: RedisClusterEvents[K]) => void): this;
  emit<K extends keyof RedisClusterEvents>(event: K, ...args: RedisClusterEvents[K]): boolean;
}

function flatten(command: string, args: Array<RedisArg | ReadonlyArray<RedisArg>>): RedisArg[] {
  const flat: RedisArg[] = [command];
  for (const a of args) {
    if (Array.isArray(a)) for (const x of a as RedisArg[]) flat.push(x);
    else flat.push(a as RedisArg);
  }
  return flat;
}

/** The slot a command goes to, or -1 for any master. */
function slotOfCommand(lower: string, flat: RedisArg[]): number {
  let key: RedisArg | undefined;
  if (
    lower === 'eval' ||
    lower === 'evalsha' ||
    lower === 'eval_ro' ||
    lower === 'evalsha_ro' ||
    lower === 'fcall' ||
    lower === 'fcall_ro'
  ) {
    key = Number(flat[2]) > 0 ? flat[3] : undefined;
  } else if (!KEYLESS.has(lower)) {
    key = flat[1];
  }
  if (key === undefined) return -1;
  return hashSlot(typeof key === 'number' ? String(key) : key);
}

/** `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`. */
function parseRedirect(err: RedisReplyError): { ask: boolean; slot: number; node: ClusterNode } | undefined {
  if (err.prefix !== 'MOVED' && err.prefix !== 'ASK') return undefined;
  const m = /^(?:MOVED|ASK) (\d+) (.*):(\d+)$/.exec(err.message.trim());
  if (!m) return undefined;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = Number(m[3]);
  return { ask: err.prefix === 'ASK', slot: Number(m[1]), node: { addr: nodeAddr(host, port), host, port } };
}
