import { BeyodError, type CloseReason, ErrorCodes, type Logger, MessageEvent, StreamClient, rootLogger } from '@beyod/core';
import { RedisErrorCodes } from './errors';
import { Fifo } from './Fifo';
import type { RedisClientEvents, RedisClientOptions } from './options';
import { RespParser } from './RespParser';
import { SUBSCRIPTION_COMMANDS, type SubKind, type SubWait, Subscriptions, delivery, str } from './Subscriptions';
import { type RedisArg, RedisReplyError, RespPush, type RespValue } from './types';

/** One command in flight or waiting for a connection. */
class Command {
  /** Offline queue deadline (ms since epoch). */
  deadline = 0;
  constructor(
    readonly args: ReadonlyArray<RedisArg>,
    readonly resolve: (value: never) => void,
    readonly reject: (error: Error) => void,
    readonly transform: ((reply: RespValue) => unknown) | null,
    readonly sub: SubWait | null,
  ) {}
}

type Transform<T> = ((reply: RespValue) => T) | null;

enum State {
  Idle,
  Connecting,
  Handshake,
  Ready,
  Closed,
}

const noop = (): void => {};

/**
 * The connection machinery of redis.Client: pipelining (replies matched to commands in order),
 * the offline queue, the (re)connect handshake, pub/sub routing. Typed command helpers are in
 * Client, which extends this.
 */
// Typed events by declaration merging (see StreamClient).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ClientBase extends StreamClient {
  readonly resp: 2 | 3;
  /** The selected database (SELECT through the client updates it, and it is selected again on reconnect). */
  db: number;
  maxOfflineQueue: number;
  offlineTimeout: number;
  private readonly password: string | undefined;
  private readonly username: string | undefined;
  private readonly clientName: string | undefined;
  private state = State.Idle;
  /** Bumped on every connect and close, so a late handshake reply of an old socket is ignored. */
  private generation = 0;
  private readonly pending = new Fifo<Command>();
  private readonly offline = new Fifo<Command>();
  private offlineTimer: NodeJS.Timeout | undefined = undefined;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private drainWaiter: (() => void) | undefined = undefined;
  private readonly subs = new Subscriptions();
  private readonly log: Logger | undefined;
  /** When the current outage began (0: none); it is logged once, not per attempt. */
  private outageSince = 0;

  constructor(options: RedisClientOptions) {
    const parser = new RespParser();
    parser.returnBuffers = options.returnBuffers ?? false;
    if (options.maxReplySize !== undefined) parser.maxPacketSize = options.maxReplySize;
    super({
      target: options.target,
      parser,
      connectTimeout: options.connectTimeout,
      reconnectInterval: options.reconnectInterval ?? 1,
      tls: options.tls,
    });
    this.resp = options.resp ?? 2;
    this.db = options.db ?? 0;
    this.password = options.password;
    this.username = options.username;
    this.clientName = options.name;
    this.maxOfflineQueue = options.maxOfflineQueue ?? 1000;
    this.offlineTimeout = options.offlineTimeout ?? 10;
    this.on('connect', this.handshake);
    this.log = options.logger === false ? undefined : (options.logger ?? rootLogger()).child({ redis: options.target });
    this.on('error', this.noteOutage);
    this.on('connect', this.outageOver);
  }

  /** A refused (or timed-out) connection: warn once per outage, not once per attempt. */
  private readonly noteOutage = (err: Error & { code?: string }): void => {
    if (!this.log || this.outageSince) return;
    if (err.code !== ErrorCodes.CONNECT_FAILED && err.code !== ErrorCodes.CONNECT_TIMEOUT) return;
    this.outageSince = Date.now();
    const retry = this.reconnectInterval > 0 ? `retrying every ${this.reconnectInterval} s` : 'not retrying (reconnectInterval 0)';
    this.log.warn({ err: err.message }, `redis at ${this.target} is unreachable: ${err.message}; ${retry} (logged once per outage)`);
  };

  private readonly outageOver = (): void => {
    if (!this.outageSince) return;
    const secs = ((Date.now() - this.outageSince) / 1000).toFixed(1);
    this.outageSince = 0;
    this.log?.info({ downSeconds: Number(secs) }, `redis at ${this.target} is reachable again after ${secs} s`);
  };

  /** True once connected and the handshake (AUTH, SELECT, resubscribe) is done. */
  get ready(): boolean {
    return this.state === State.Ready;
  }

  /** Commands sent and waiting for their reply. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Commands waiting for a connection. */
  get queued(): number {
    return this.offline.length;
  }

  /** True while subscribed (or subscribing) to anything; RESP2 then refuses normal commands. */
  get subscriber(): boolean {
    return this.subs.active;
  }

  /** Channels, patterns and shard channels currently subscribed. */
  get subscriptions(): { channels: string[]; patterns: string[]; shardChannels: string[] } {
    return this.subs.list();
  }

  /**
   * Connect, authenticate and select the database. Resolves when ready for commands. Without
   * reconnectInterval a refused connection rejects; with it, attempts go on until one works.
   * A failed AUTH / SELECT / HELLO rejects with BEYOD_REDIS_HANDSHAKE_FAILED and stops the client.
   */
  override connect(): Promise<void> {
    if (this.state === State.Ready) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    p.catch(noop);
    if (this.state === State.Idle || this.state === State.Closed) {
      this.state = State.Connecting;
      super.connect().catch((e: Error) => this.connectFailed(e));
    }
    return p;
  }

  /**
   * Close gracefully: commands still waiting for a connection fail with BEYOD_CLIENT_CLOSED,
   * replies to those already sent are awaited (up to closeTimeout seconds), then the socket is
   * closed. No reconnection afterwards (connect() starts again).
   */
  override async close(): Promise<void> {
    this.state = State.Closed;
    const closed = new BeyodError(ErrorCodes.CLIENT_CLOSED, `redis client for ${this.target} was closed`, { target: this.target });
    this.failOffline(closed);
    this.failReadyWaiters(closed);
    if (this.pending.length > 0 && this.connected) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.drainWaiter = undefined;
          resolve();
        };
        const timer = setTimeout(done, this.closeTimeout * 1000);
        this.drainWaiter = done;
      });
    }
    await super.close();
  }

  /**
   * Send any command: `call('SET', 'k', 'v')`. Arrays among the arguments are flattened one
   * level. Resolves with the decoded reply; an error reply rejects with RedisReplyError.
   */
  call<T = RespValue>(command: string, ...args: Array<RedisArg | ReadonlyArray<RedisArg>>): Promise<T> {
    const flat: RedisArg[] = [command];
    for (const a of args) {
      if (Array.isArray(a)) for (const x of a as RedisArg[]) flat.push(x);
      else flat.push(a as RedisArg);
    }
    const lower = command.toLowerCase();
    const sub = SUBSCRIPTION_COMMANDS.get(lower);
    if (sub !== undefined) return this.subCommand<T>(sub.kind, sub.subscribe, flat);
    if (lower === 'select') return this.command<T>(flat, this.selected(flat[1]) as Transform<T>);
    return this.command<T>(flat, null, lower);
  }

  /**
   * Send a command built by a helper. `name` (lower case) is given when it may be one of the
   * commands RESP2 allows in subscriber mode.
   */
  protected command<T>(args: RedisArg[], transform: Transform<T>, name?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.resp === 2 && this.subscriber && !(name !== undefined && ALLOWED_WHEN_SUBSCRIBED.has(name))) {
        reject(
          new BeyodError(
            RedisErrorCodes.SUBSCRIBER_MODE,
            `redis command ${String(args[0])} refused: this connection is in pub/sub mode (subscribed to ${this.subs.summary()}); ` +
              'only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET are allowed. Use another client for other commands, or resp: 3.',
            { command: String(args[0]) },
          ),
        );
        return;
      }
      this.submit(new Command(args, resolve as (v: never) => void, reject, transform as Transform<unknown>, null));
    });
  }

  /** (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE: resolves with the subscription count once every confirmation came. */
  protected subCommand<T>(kind: SubKind, subscribe: boolean, args: RedisArg[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const n = args.length - 1;
      if (subscribe && n === 0) {
        reject(new BeyodError(RedisErrorCodes.BAD_ARGUMENT, `${String(args[0])} needs at least one channel`));
        return;
      }
      const wait: SubWait = { kind, subscribe, remaining: n > 0 ? n : -1 };
      if (subscribe) {
        this.subs.subscribing++;
        const settle = () => this.subs.subscribing--;
        const res = (v: T) => {
          settle();
          resolve(v);
        };
        const rej = (e: Error) => {
          settle();
          reject(e);
        };
        this.submit(new Command(args, res as (v: never) => void, rej, null, wait));
      } else {
        this.submit(new Command(args, resolve as (v: never) => void, reject, null, wait));
      }
    });
  }

  /**
   * MULTI, the commands, EXEC, written back to back (nothing else can come between them).
   * Resolves with EXEC's array (a command that failed inside is a RedisReplyError in it), or
   * null when a WATCHed key changed; rejects when EXEC does (EXECABORT names the first error).
   */
  protected transaction(commands: ReadonlyArray<{ args: RedisArg[]; transform: Transform<unknown> }>): Promise<RespValue[] | null> {
    return new Promise<RespValue[] | null>((resolve, reject) => {
      if (this.resp === 2 && this.subscriber) {
        reject(new BeyodError(RedisErrorCodes.SUBSCRIBER_MODE, 'MULTI refused: this connection is in pub/sub mode'));
        return;
      }
      let queueError: Error | undefined;
      const recordError = (e: Error) => (queueError ??= e);
      const group = [new Command(['MULTI'], noop, recordError, null, null)];
      for (const c of commands) group.push(new Command(c.args, noop, recordError, null, null));
      const onExec = (reply: RespValue) => {
        if (reply === null || !Array.isArray(reply)) return reply;
        return reply.map((r, i) => {
          const t = commands[i]?.transform;
          return t && !(r instanceof RedisReplyError) ? t(r) : r;
        });
      };
      const rejectExec = (e: Error) => {
        if (queueError !== undefined && e instanceof RedisReplyError && e.prefix === 'EXECABORT') {
          reject(new RedisReplyError(`${e.message} First error: ${queueError.message}`, 'EXEC'));
        } else reject(e);
      };
      group.push(new Command(['EXEC'], resolve as (v: never) => void, rejectExec, onExec, null));
      this.submitGroup(group);
    });
  }

  private submit(cmd: Command): void {
    if (this.state === State.Ready) this.write(cmd);
    else this.submitGroup([cmd]);
  }

  /** Commands that must go out together (a transaction): sent, queued or refused as one. */
  private submitGroup(group: Command[]): void {
    if (this.state === State.Ready) {
      for (const c of group) this.write(c);
      return;
    }
    if (this.state === State.Idle || this.state === State.Closed) {
      const closed = this.state === State.Closed;
      const err = new BeyodError(
        closed ? ErrorCodes.CLIENT_CLOSED : ErrorCodes.NOT_CONNECTED,
        closed
          ? `redis client for ${this.target} was closed`
          : `redis client for ${this.target} is not connected: call connect() first (or set reconnectInterval)`,
        { target: this.target },
      );
      for (const c of group) c.reject(err);
      return;
    }
    if (this.offline.length + group.length > this.maxOfflineQueue) {
      const err = new BeyodError(
        RedisErrorCodes.QUEUE_FULL,
        `redis client for ${this.target}: ${this.offline.length} commands already wait for a connection (maxOfflineQueue ${this.maxOfflineQueue})`,
        { target: this.target, maxOfflineQueue: this.maxOfflineQueue },
      );
      for (const c of group) c.reject(err);
      return;
    }
    // One deadline for the group, so a transaction expires whole, never half.
    const deadline = Date.now() + this.offlineTimeout * 1000;
    for (const c of group) {
      c.deadline = deadline;
      this.offline.push(c);
    }
    if (this.offlineTimer === undefined && this.offlineTimeout > 0) this.armOfflineTimer();
  }

  private write(cmd: Command): void {
    this.pending.push(cmd);
    // A failed send means the socket is going away: the command is rejected with the others on close.
    this.send(cmd.args);
  }

  private armOfflineTimer(): void {
    const head = this.offline.peek();
    if (head === undefined) return;
    this.offlineTimer = setTimeout(() => this.expireOffline(), Math.max(0, head.deadline - Date.now()));
    this.offlineTimer.unref();
  }

  private expireOffline(): void {
    this.offlineTimer = undefined;
    const now = Date.now();
    for (let head = this.offline.peek(); head !== undefined && head.deadline <= now; head = this.offline.peek()) {
      this.offline.shift();
      head.reject(
        new BeyodError(
          RedisErrorCodes.OFFLINE_TIMEOUT,
          `redis command ${String(head.args[0])} waited ${this.offlineTimeout} s for a connection to ${this.target}`,
          { target: this.target, command: String(head.args[0]) },
        ),
      );
    }
    this.armOfflineTimer();
  }

  private failOffline(err: Error): void {
    if (this.offlineTimer !== undefined) clearTimeout(this.offlineTimer);
    this.offlineTimer = undefined;
    for (const c of this.offline.drain()) c.reject(err);
  }

  private failReadyWaiters(err: Error): void {
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const x of w) x.reject(err);
  }

  private connectFailed(e: Error): void {
    if (this.state !== State.Connecting) return;
    this.state = State.Idle;
    this.failOffline(e);
    this.failReadyWaiters(e);
  }

  /** On every (re)connect: HELLO / AUTH, CLIENT SETNAME, SELECT, resubscribe; then the offline queue. */
  private readonly handshake = (): void => {
    const gen = ++this.generation;
    this.state = State.Handshake;
    this.subs.serverSide = false;
    const steps: Array<Promise<unknown>> = [];
    const step = (args: RedisArg[]) =>
      steps.push(new Promise((resolve, reject) => this.write(new Command(args, resolve as (v: never) => void, reject, null, null))));
    if (this.resp === 3) {
      const hello: RedisArg[] = ['HELLO', 3];
      if (this.password !== undefined) hello.push('AUTH', this.username ?? 'default', this.password);
      if (this.clientName !== undefined) hello.push('SETNAME', this.clientName);
      step(hello);
    } else {
      if (this.password !== undefined) step(this.username === undefined ? ['AUTH', this.password] : ['AUTH', this.username, this.password]);
      if (this.clientName !== undefined) step(['CLIENT', 'SETNAME', this.clientName]);
    }
    if (this.db !== 0) step(['SELECT', this.db]);
    for (const { args, wait } of this.subs.restore()) {
      steps.push(new Promise((resolve, reject) => this.write(new Command(args, resolve as (v: never) => void, reject, null, wait))));
    }
    if (steps.length === 0) {
      this.becomeReady();
      return;
    }
    Promise.all(steps).then(
      () => {
        if (gen === this.generation && this.state === State.Handshake) this.becomeReady();
      },
      (e: Error) => {
        if (gen === this.generation && this.state === State.Handshake) this.handshakeFailed(e);
      },
    );
  };

  private becomeReady(): void {
    this.state = State.Ready;
    if (this.offlineTimer !== undefined) clearTimeout(this.offlineTimer);
    this.offlineTimer = undefined;
    for (const c of this.offline.drain()) this.write(c);
    const w = this.readyWaiters;
    this.readyWaiters = [];
    for (const x of w) x.resolve();
    this.emit('ready');
  }

  private handshakeFailed(cause: Error): void {
    const err = new BeyodError(
      RedisErrorCodes.HANDSHAKE_FAILED,
      `redis at ${this.target} refused the connection set-up: ${cause.message} (check password, username, db)`,
      { target: this.target },
      { cause },
    );
    this.state = State.Idle;
    this.failOffline(err);
    this.failReadyWaiters(err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
    void super.close();
  }

  /** Transform of SELECT: remember the database for reconnects. */
  private selected(db: RedisArg | undefined): Transform<unknown> {
    return (reply) => {
      this.db = Number(db);
      return reply;
    };
  }

  protected override dispatchMessage(reply: unknown): void {
    if (reply instanceof RespPush) {
      this.onPush(reply.data);
      return;
    }
    if (Array.isArray(reply) && (this.subs.serverSide || this.pending.peek()?.sub) && this.onPubSubReply(reply)) return;
    const cmd = this.pending.shift();
    if (cmd === undefined) {
      const err = new BeyodError(RedisErrorCodes.PROTOCOL, `redis at ${this.target} sent a reply with no command waiting for it`, {
        target: this.target,
      });
      if (this.listenerCount('error') > 0) this.emit('error', err);
      this.destroy('error', err);
      return;
    }
    this.settle(cmd, reply as RespValue);
  }

  private settle(cmd: Command, reply: RespValue): void {
    if (reply instanceof RedisReplyError) {
      if (reply.data !== undefined) reply.data.command = String(cmd.args[0]);
      cmd.reject(reply);
    } else if (cmd.transform === null) {
      cmd.resolve(reply as never);
    } else {
      let v: unknown;
      try {
        v = cmd.transform(reply);
      } catch (e) {
        cmd.reject(e as Error);
        return;
      }
      cmd.resolve(v as never);
    }
    if (this.drainWaiter !== undefined && this.pending.length === 0) this.drainWaiter();
  }

  /** RESP2 subscriber mode: a delivery or a confirmation (true), or an ordinary reply (false). */
  private onPubSubReply(reply: RespValue[]): boolean {
    const m = this.subs.serverSide ? delivery(reply) : undefined;
    if (m !== undefined) {
      this.emit('message', new MessageEvent(this, m));
      return true;
    }
    const c = SUBSCRIPTION_COMMANDS.get(str(reply[0]));
    if (c === undefined) return false;
    this.confirm(c.kind, c.subscribe, reply);
    return true;
  }

  private onPush(data: RespValue[]): void {
    const m = delivery(data);
    if (m !== undefined) {
      this.emit('message', new MessageEvent(this, m));
      return;
    }
    const c = SUBSCRIPTION_COMMANDS.get(str(data[0]));
    if (c !== undefined) this.confirm(c.kind, c.subscribe, data);
    else this.emit('push', data);
  }

  private confirm(kind: SubKind, subscribe: boolean, data: RespValue[]): void {
    const head = this.pending.peek();
    const count = this.subs.confirm(kind, subscribe, data, head?.sub);
    if (head === undefined || count === undefined) return;
    this.pending.shift();
    this.settle(head, count);
  }

  protected override dispatchClose(reason: CloseReason, error: Error | undefined): void {
    this.generation++;
    this.subs.serverSide = false;
    if (this.pending.length > 0) {
      const lost = new BeyodError(
        RedisErrorCodes.CONNECTION_LOST,
        `connection to redis at ${this.target} closed (${reason}${error ? `: ${error.message}` : ''}) before the reply came; the command may or may not have run`,
        { target: this.target, reason },
        { cause: error },
      );
      for (const c of this.pending.drain()) c.reject(lost);
    }
    this.drainWaiter?.();
    if (this.state === State.Ready || this.state === State.Handshake || this.state === State.Connecting) {
      if (this.reconnectInterval > 0) {
        this.state = State.Connecting;
        if (this.offline.length > 0 && this.offlineTimer === undefined && this.offlineTimeout > 0) this.armOfflineTimer();
      } else {
        this.state = State.Idle;
        const err = new BeyodError(ErrorCodes.NOT_CONNECTED, `connection to redis at ${this.target} closed (${reason})`, {
          target: this.target,
        });
        this.failOffline(err);
        this.failReadyWaiters(err);
      }
    }
    super.dispatchClose(reason, error);
  }
}

const ALLOWED_WHEN_SUBSCRIBED = new Set(['ping', 'quit', 'reset']);

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface ClientBase {
  on<K extends keyof RedisClientEvents>(event: K, listener: (...args: RedisClientEvents[K]) => void): this;
  once<K extends keyof RedisClientEvents>(event: K, listener: (...args: RedisClientEvents[K]) => void): this;
  off<K extends keyof RedisClientEvents>(event: K, listener: (...args: RedisClientEvents[K]) => void): this;
  emit<K extends keyof RedisClientEvents>(event: K, ...args: RedisClientEvents[K]): boolean;
}
