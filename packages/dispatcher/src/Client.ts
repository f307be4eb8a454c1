import type * as tls from 'node:tls';
import {
  BeyodError,
  type CloseEvent,
  type CloseReason,
  ErrorCodes,
  type Logger,
  MessageEvent,
  StreamClient,
  type StreamClientEvents,
  rootLogger,
} from '@beyod/core';
import { DispatcherError, DispatcherErrorCodes, codeOfWire } from './errors';
import { BadBody, type Packet, PacketParser } from './Parser';
import type { Key } from './store/ChannelStore';
import { isKey, keyName } from './wire';

/** Options of a dispatcher Client. */
export interface ClientOptions {
  /** The dispatcher: tcp://host:port (tls:// and unix:// work too). */
  target: string;
  /** Seconds between reconnection attempts; 0 = never reconnect. Default 3 (as the seed). */
  reconnectInterval?: number;
  /** Channel(s) subscribed on every connect, e.g. this worker's GPID. */
  defaultChannel?: Key | Key[];
  /** Sent with `auth` on every connect, before anything else. */
  token?: string;
  /** Seconds a request may wait for its answer (connection included); 0 = forever. Default 10. */
  requestTimeout?: number;
  /** Requests that may wait for a connection; more fail at once with NOT_CONNECTED. Default 1000. */
  maxQueuedRequests?: number;
  /** Seconds a connection attempt may take. Default 10. */
  connectTimeout?: number;
  tls?: tls.ConnectionOptions;
  maxSendBuffer?: number;
  /**
   * Where outages are reported: one warning when the dispatcher cannot be reached (or the
   * connection is lost), one info line when it is back. Default: the process's root logger;
   * false = silent.
   */
  logger?: Logger | false;
}

/** Options of one connect() call. */
export interface ConnectOptions {
  /**
   * true (default): keep trying every reconnectInterval until connected. false: reject at the
   * first failed attempt and stop (one-shot scripts).
   */
  wait?: boolean;
  /** Seconds to keep trying before rejecting with BEYOD_CONNECT_TIMEOUT and stopping; 0 = no limit. */
  timeout?: number;
}

/** A response of the dispatcher (an error response rejects instead). */
export interface DispatcherResponse {
  command: string;
  key: unknown;
  code: number;
  message: string;
  seq: string | number;
  value?: unknown;
  published?: number;
  priority?: number;
  [field: string]: unknown;
}

/** A channel delivery (`message`) or a broadcast, as it came off the wire. */
export interface Delivery {
  command: 'message' | 'broadcast';
  key?: Key;
  value: unknown;
  /** "ip:port" of the publisher as the dispatcher saw it. */
  source: string;
}

/** Events of a dispatcher Client. */
export interface ClientEvents extends StreamClientEvents {
  message: [MessageEvent<Delivery, Client>];
  broadcast: [MessageEvent<Delivery, Client>];
}

interface Pending {
  seq: number;
  packet: Packet;
  resolve: (r: DispatcherResponse) => void;
  reject: (e: Error) => void;
  /** performance.now() after which it fails with TIMEOUT. */
  deadline: number;
  sent: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * The dispatcher client: a StreamClient whose methods return Promises of the server's
 * responses, matched by `seq`. An error response rejects with a DispatcherError whose `code`
 * names the error (and `wireCode` holds the number).
 *
 * Deliveries come as events: `message` (channel messages) and `broadcast`, each with the
 * packet as received in `event.message`. On every connect it authenticates (token),
 * subscribes `defaultChannel` and every channel subscribed through it, then sends what was
 * asked while it was disconnected. Requests in flight when the connection drops fail with
 * DISCONNECTED: the client does not know whether they were done, so it does not resend them.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Client extends StreamClient {
  readonly defaultChannel: Key[];
  readonly token: string | undefined;
  readonly requestTimeout: number;
  maxQueuedRequests: number;

  private seq = 0;
  /** Requests with the common timeout, oldest first (deadlines grow with creation order). */
  private readonly pending = new Map<number, Pending>();
  /** Blocking pops: their own timeout, their own timer. */
  private readonly blocking = new Map<number, Pending>();
  /** Made while disconnected, sent on the next connect (by seq; one that expires leaves at once). */
  private outbox = new Map<number, Pending>();
  /** What to subscribe on the next connect (besides defaultChannel). */
  private readonly subscriptions = new Map<string, Key>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private started = false;
  private ready: Promise<void> = Promise.resolve();
  private readonly logOption: Logger | false | undefined;
  private log: Logger | false | undefined;
  /** The current outage: since when (ms), and whether it was reported. */
  private outage: { since: number; attempts: number } | undefined;
  /** connect({ wait: false }) or { timeout } in progress: how to give up. */
  private giveUp: ((error: Error) => void) | undefined;
  /** connect({ wait: false }) in progress: give up at the first failure. */
  private failFast = false;
  /** The last failed connection attempt (for messages). */
  private lastFailure: Error | undefined;

  constructor(options: ClientOptions) {
    super({
      target: options.target,
      parser: new PacketParser(),
      reconnectInterval: options.reconnectInterval ?? 3,
      connectTimeout: options.connectTimeout,
      tls: options.tls,
      maxSendBuffer: options.maxSendBuffer,
    });
    const dc = options.defaultChannel;
    this.defaultChannel = dc === undefined ? [] : Array.isArray(dc) ? dc : [dc];
    for (const k of this.defaultChannel) checkKey(k, 'defaultChannel');
    this.token = options.token;
    this.requestTimeout = options.requestTimeout ?? 10;
    this.maxQueuedRequests = options.maxQueuedRequests ?? 1000;
    this.logOption = options.logger;
    // Registered first, so they run before any listener the user adds.
    this.on('connect', () => this.onConnected());
    this.on('close', (e) => this.onLost(e));
    // Also makes StreamClient emit connection failures (it emits 'error' only to listeners).
    this.on('error', (e) => this.onFailure(e));
  }

  /**
   * Connect, and keep reconnecting every reconnectInterval seconds after a loss. Resolves once
   * connected, authenticated and subscribed to defaultChannel. While the dispatcher cannot be
   * reached it keeps trying (one warning per outage in the log); `{ wait: false }` rejects at
   * the first failure instead, `{ timeout }` after that many seconds — both then stop the
   * client and fail the requests that waited (NOT_CONNECTED).
   */
  override async connect(options: ConnectOptions = {}): Promise<void> {
    this.started = true;
    const { wait = true, timeout = 0 } = options;
    let given: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    const pending = super.connect();
    if (!this.connected && (!wait || timeout > 0)) {
      this.failFast = !wait;
      this.giveUp = (error) => {
        if (given !== undefined) return;
        given = error;
        void this.stopTrying(error);
      };
      if (timeout > 0) {
        timer = setTimeout(() => {
          const last = this.lastFailure === undefined ? '' : ` (last error: ${this.lastFailure.message})`;
          this.giveUp?.(
            new BeyodError(ErrorCodes.CONNECT_TIMEOUT, `not connected to ${this.target} within ${timeout} s${last}`, {
              target: this.target,
            }),
          );
        }, timeout * 1000);
      }
    }
    try {
      await pending;
    } catch (e) {
      this.started = false;
      this.failOutbox(DispatcherErrorCodes.NOT_CONNECTED, `not connected to ${this.target}: ${(given ?? (e as Error)).message}`);
      throw given ?? e;
    } finally {
      clearTimeout(timer);
      this.giveUp = undefined;
      this.failFast = false;
    }
    await this.ready;
  }

  private async stopTrying(error: Error): Promise<void> {
    this.started = false;
    this.failOutbox(DispatcherErrorCodes.NOT_CONNECTED, `not connected to ${this.target}: ${error.message}`);
    await super.close();
  }

  private logger(): Logger | undefined {
    if (this.log === undefined) this.log = this.logOption === false ? false : (this.logOption ?? rootLogger());
    return this.log === false ? undefined : this.log;
  }

  /** A connection attempt failed (or an established connection had an error). */
  private onFailure(error: Error): void {
    const code = (error as BeyodError).code;
    if (code !== ErrorCodes.CONNECT_FAILED && code !== ErrorCodes.CONNECT_TIMEOUT) return;
    this.lastFailure = error;
    if (this.failFast) this.giveUp?.(error);
    if (this.outage !== undefined) {
      this.outage.attempts++;
      return;
    }
    if (!this.started || this.reconnectInterval <= 0) return;
    this.outage = { since: Date.now(), attempts: 1 };
    this.logger()?.warn(
      { target: this.target, err: error.message },
      `cannot connect to ${this.target} (${error.message}); retrying every ${this.reconnectInterval} s`,
    );
  }

  /** The connection was lost; the client reconnects by itself when started. */
  private onLost(event: CloseEvent): void {
    if (!this.started || this.reconnectInterval <= 0 || this.outage !== undefined) return;
    this.outage = { since: Date.now(), attempts: 0 };
    this.logger()?.warn(
      { target: this.target, reason: event.reason },
      `lost the connection to ${this.target} (${event.reason}); reconnecting every ${this.reconnectInterval} s`,
    );
  }

  /** Close for good: pending requests fail with CLIENT_CLOSED. */
  override async close(): Promise<void> {
    this.started = false;
    const why = `client for ${this.target} was closed`;
    this.failAll(() => true, DispatcherErrorCodes.CLIENT_CLOSED, why);
    await super.close();
  }

  /**
   * Subscribe to one or more channels; the answer's `key` lists the keys of this request and
   * `count` how many channels this connection has. The channels are subscribed again after
   * every reconnect — unless the dispatcher refused them (e.g. maxSubscriptions).
   */
  subscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = Array.isArray(keys) ? keys : [keys];
    for (const k of list) checkKey(k, 'subscribe');
    const added: Key[] = [];
    for (const k of list) {
      const name = keyName(k);
      if (this.subscriptions.has(name)) continue;
      this.subscriptions.set(name, k);
      added.push(k);
    }
    const r = this.request({ command: 'subscribe', key: keys });
    r.then(
      // an earlier subscribe of the same key may have been refused meanwhile
      () => {
        for (const k of list) if (!this.subscriptions.has(keyName(k))) this.subscriptions.set(keyName(k), k);
      },
      (e: unknown) => {
        // refused, or never sent: not a subscription to restore (after a timeout or a lost
        // connection its fate is unknown, and subscribing again on reconnect is right)
        const err = e as DispatcherError;
        if (
          err.wireCode === undefined &&
          err.code !== DispatcherErrorCodes.NOT_CONNECTED &&
          err.code !== DispatcherErrorCodes.CLIENT_CLOSED
        )
          return;
        for (const k of added) this.subscriptions.delete(keyName(k));
      },
    );
    return r;
  }

  unsubscribe(keys: Key | Key[]): Promise<DispatcherResponse> {
    const list = Array.isArray(keys) ? keys : [keys];
    for (const k of list) checkKey(k, 'unsubscribe');
    for (const k of list) this.subscriptions.delete(keyName(k));
    return this.request({ command: 'unsubscribe', key: keys });
  }

  /** Publish `value` on one or more channels; the answer's `published` counts deliveries. */
  publish(keys: Key | Key[], value: unknown): Promise<DispatcherResponse> {
    return this.request({ command: 'publish', key: keys, value });
  }

  /** Send `value` to every subscribed connection (not this one unless `loop`). */
  broadcast(value: unknown, loop = false): Promise<DispatcherResponse> {
    return this.request(loop ? { command: 'broadcast', value, loop } : { command: 'broadcast', value });
  }

  /**
   * One page of the channels with the peers subscribed to them (`value`): at most `count`
   * subscriptions (default and maximum 1000). `cursor` in the answer goes on from there
   * (0 = that was the last page); `total` is the number of channels.
   */
  channels(options: { cursor?: number; count?: number } = {}): Promise<DispatcherResponse> {
    const { cursor, count } = options;
    return this.request({ command: 'channels', ...(cursor ? { cursor } : {}), ...(count ? { count } : {}) });
  }

  /** `expire`: absolute unix time in seconds (0 = never). */
  set(key: Key, value: unknown, expire = 0): Promise<DispatcherResponse> {
    return this.request(expire ? { command: 'set', key, value, expire } : { command: 'set', key, value });
  }

  /** `value` is the entry, or null when missing or expired. */
  get(key: Key): Promise<DispatcherResponse> {
    return this.request({ command: 'get', key });
  }

  delete(key: Key): Promise<DispatcherResponse> {
    return this.request({ command: 'delete', key });
  }

  deleteAll(): Promise<DispatcherResponse> {
    return this.request({ command: 'deleteall' });
  }

  /** Live entries in the hash (`value`). */
  count(): Promise<DispatcherResponse> {
    return this.request({ command: 'count' });
  }

  /** Higher priorities come out first; FIFO among equal priorities. */
  qpush(key: Key, value: unknown, priority = 0): Promise<DispatcherResponse> {
    return this.request(priority ? { command: 'qpush', key, value, priority } : { command: 'qpush', key, value });
  }

  /**
   * Pop the highest-priority item (`value`, null when empty). With `block`, wait until one
   * arrives, or `timeout` seconds (0 = forever) pass and `value` is null.
   */
  qpop(key: Key, options: { block?: boolean; timeout?: number } = {}): Promise<DispatcherResponse> {
    const { block = false, timeout = 0 } = options;
    if (!block) return this.request({ command: 'qpop', key });
    return this.request({ command: 'qpop', key, block: true, timeout }, timeout > 0 ? timeout + this.requestTimeout : 0);
  }

  qcount(key: Key): Promise<DispatcherResponse> {
    return this.request({ command: 'qcount', key });
  }

  qdelete(key: Key): Promise<DispatcherResponse> {
    return this.request({ command: 'qdelete', key });
  }

  qdeleteAll(): Promise<DispatcherResponse> {
    return this.request({ command: 'qdeleteall' });
  }

  /** Authenticate (done on every connect when the `token` option is set). */
  auth(token: string): Promise<DispatcherResponse> {
    return this.request({ command: 'auth', value: token });
  }

  /** The dispatcher's figures (`value`): clients, channels, keys, queued items, messages... */
  stats(): Promise<DispatcherResponse> {
    return this.request({ command: 'stats' });
  }

  /**
   * Send any command and wait for its answer. `timeout`: seconds (default requestTimeout;
   * 0 = forever, used by blocking pops).
   */
  request(fields: Packet, timeout?: number): Promise<DispatcherResponse> {
    const seq = ++this.seq;
    const packet: Packet = { ...fields, seq };
    return new Promise<DispatcherResponse>((resolve, reject) => {
      const blocking = timeout !== undefined;
      const t = blocking ? timeout : this.requestTimeout;
      const p: Pending = { seq, packet, resolve, reject, deadline: t > 0 ? performance.now() + t * 1000 : Infinity, sent: false };
      if (this.connected) {
        this.track(p, blocking);
        this.transmit(p);
        return;
      }
      if (!this.started) {
        reject(notConnected(this.target, packet, 'call connect() first, or the client was closed'));
        return;
      }
      if (this.outbox.size >= this.maxQueuedRequests) {
        reject(notConnected(this.target, packet, `${this.outbox.size} requests already wait for the connection (maxQueuedRequests)`));
        return;
      }
      this.track(p, blocking);
      this.outbox.set(p.seq, p);
    });
  }

  private track(p: Pending, blocking: boolean): void {
    if (blocking) {
      this.blocking.set(p.seq, p);
      if (p.deadline !== Infinity) {
        p.timer = setTimeout(() => this.expire(p), p.deadline - performance.now());
        p.timer.unref();
      }
      return;
    }
    this.pending.set(p.seq, p);
    if (this.sweepTimer === undefined && p.deadline !== Infinity) this.armSweep(p.deadline);
  }

  private transmit(p: Pending): void {
    p.sent = true;
    this.send(p.packet);
  }

  private armSweep(deadline: number): void {
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, deadline - performance.now()));
    this.sweepTimer.unref();
  }

  /** Fail the requests past their deadline; they are the oldest, at the head of `pending`. */
  private sweep(): void {
    this.sweepTimer = undefined;
    const now = performance.now();
    for (const p of this.pending.values()) {
      if (p.deadline > now) {
        this.armSweep(p.deadline);
        return;
      }
      this.expire(p);
    }
  }

  private expire(p: Pending): void {
    if (!this.forget(p)) return;
    const what = p.sent ? 'no answer' : 'no connection';
    p.reject(
      new DispatcherError(
        DispatcherErrorCodes.TIMEOUT,
        `${String(p.packet.command)} to ${this.target}: ${what} within the request timeout (seq ${p.seq})`,
      ),
    );
  }

  /** Remove from the tables (the offline queue too); false when it was already settled. */
  private forget(p: Pending): boolean {
    if (p.timer) clearTimeout(p.timer);
    if (!p.sent) this.outbox.delete(p.seq);
    return this.pending.delete(p.seq) || this.blocking.delete(p.seq);
  }

  private onConnected(): void {
    if (this.outage !== undefined) {
      const { since, attempts } = this.outage;
      this.outage = undefined;
      this.logger()?.info(
        { target: this.target, attempts: attempts + 1, seconds: (Date.now() - since) / 1000 },
        `connected to ${this.target} after ${attempts + 1} attempts (${((Date.now() - since) / 1000).toFixed(1)} s)`,
      );
    }
    const setup: Array<Promise<unknown>> = [];
    const internal = (fields: Packet) => {
      const r = this.request(fields);
      setup.push(r);
      return r;
    };
    // The outbox goes after auth and subscribe: the server handles one connection's requests in order.
    const queued = this.outbox;
    this.outbox = new Map();
    if (this.token !== undefined && this.token !== '') internal({ command: 'auth', value: this.token });
    const channels = new Map<string, Key>(this.subscriptions);
    for (const k of this.defaultChannel) channels.set(keyName(k), k);
    if (channels.size > 0) internal({ command: 'subscribe', key: [...channels.values()] });
    for (const p of queued.values()) if (this.pending.has(p.seq) || this.blocking.has(p.seq)) this.transmit(p);
    this.ready = Promise.all(setup).then(
      () => undefined,
      (e: unknown) => {
        // A wrong token will not get better by retrying: stop, and fail everything.
        const err = e as DispatcherError;
        if (err.code === DispatcherErrorCodes.AUTH_FAILED) void this.close();
        this.reportError(err);
        throw err;
      },
    );
    this.ready.catch(() => {});
  }

  protected override dispatchMessage(message: unknown): void {
    if (message instanceof BadBody) {
      this.reportError(new DispatcherError(DispatcherErrorCodes.SERVER_ERROR, `unreadable packet from ${this.target}: ${message.reason}`));
      return;
    }
    const m = message as Packet;
    const command = m.command;
    const seq = m.seq;
    // Deliveries carry no seq; the answer to our own broadcast request says 'broadcast' too.
    if (seq === undefined) {
      if (command === 'message') {
        this.emit('message', new MessageEvent(this, m as unknown as Delivery));
        return;
      }
      if (command === 'broadcast' || command === 'broadcats') {
        this.emit('broadcast', new MessageEvent(this, m as unknown as Delivery));
        return;
      }
    }
    const p = this.pending.get(seq as number) ?? this.blocking.get(seq as number);
    if (p === undefined) {
      // An error nobody asked for (maxClients on connect), or the answer to a request that timed out.
      if (command === 'error') this.reportError(responseError(m, undefined));
      return;
    }
    this.forget(p);
    if (command === 'error') p.reject(responseError(m, p.packet));
    else p.resolve(m as DispatcherResponse);
  }

  protected override dispatchClose(reason: CloseReason, error: Error | undefined): void {
    // What was sent on that socket will never be answered: its fate is unknown.
    this.failAll((p) => p.sent, DispatcherErrorCodes.DISCONNECTED, `connection to ${this.target} lost (${reason})`);
    super.dispatchClose(reason, error);
    if (this.reconnectInterval <= 0) {
      this.started = false;
      this.failOutbox(DispatcherErrorCodes.NOT_CONNECTED, `connection to ${this.target} lost and reconnectInterval is 0`);
    }
  }

  private failAll(
    which: (p: Pending) => boolean,
    code: (typeof DispatcherErrorCodes)['DISCONNECTED' | 'CLIENT_CLOSED'],
    why: string,
  ): void {
    for (const table of [this.pending, this.blocking]) {
      for (const p of [...table.values()]) {
        if (!which(p)) continue;
        this.forget(p);
        p.reject(new DispatcherError(code, `${String(p.packet.command)} (seq ${p.seq}): ${why}`));
      }
    }
    if (code === DispatcherErrorCodes.CLIENT_CLOSED) this.outbox.clear();
  }

  private failOutbox(code: (typeof DispatcherErrorCodes)['NOT_CONNECTED'], why: string): void {
    const queued = this.outbox;
    this.outbox = new Map();
    for (const p of queued.values())
      if (this.forget(p)) p.reject(new DispatcherError(code, `${String(p.packet.command)} (seq ${p.seq}): ${why}`));
  }

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Client {
  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  once<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  off<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  emit<K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]): boolean;
}

function checkKey(k: unknown, where: string): void {
  if (!isKey(k)) {
    throw new DispatcherError(
      DispatcherErrorCodes.INVALID_ARGUMENT,
      `${where}: a key must be a string or a safe integer, got ${String(k)}`,
    );
  }
}

function responseError(m: Packet, request: Packet | undefined): DispatcherError {
  const wire = typeof m.code === 'number' ? m.code : -1;
  const what = request === undefined ? 'dispatcher error' : `${String(request.command)} failed`;
  return new DispatcherError(codeOfWire(wire), `${what}: ${String(m.message)} (code ${wire})`, wire, m);
}

function notConnected(target: string, packet: Packet, why: string): DispatcherError {
  return new DispatcherError(DispatcherErrorCodes.NOT_CONNECTED, `${String(packet.command)}: not connected to ${target}; ${why}`);
}
