import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { BaseConnection } from './BaseConnection';
import { BeyodError, ErrorCodes } from './errors';
import { CloseEvent, type CloseReason, DeadlineEvent, IOEvent, MessageEvent } from './events';
import { Parser } from './Parser';
import { type SocketAddress, parseSocketUrl } from './url';

let nextId = 0;

/** Options of a StreamClient (all optional but target). */
export interface StreamClientOptions {
  /** tcp://host:port, tls://host:port, unix:///path. */
  target: string;
  /** Framing, as for listeners. Default: no framing. */
  parser?: Parser<unknown, unknown>;
  /** Seconds a connection attempt may take. Default 10. */
  connectTimeout?: number;
  /** Seconds between reconnection attempts after the connection is lost or refused; 0 = never. Default 0. */
  reconnectInterval?: number;
  /** For tls:// targets: node's tls.connect options (ca, cert, key, servername, rejectUnauthorized...). */
  tls?: tls.ConnectionOptions;
  noDelay?: boolean;
  maxSendBuffer?: number;
}

/** Events of a StreamClient. */
export interface StreamClientEvents {
  connect: [];
  message: [MessageEvent];
  close: [CloseEvent];
  error: [Error];
  badPacket: [Error];
  bufferFull: [IOEvent];
  bufferDrain: [IOEvent];
  deadline: [DeadlineEvent];
}

/**
 * An outbound connection on the same Parser contract as listeners: connect timeout,
 * reconnection every `reconnectInterval` seconds after the peer goes away, and events
 * (`connect`, `message`, `close`, `error`, `badPacket`, `bufferFull`, `bufferDrain`).
 * `error` is only emitted when someone listens to it (it is logged-by-nobody otherwise),
 * so a fire-and-forget client never crashes the process.
 */
// Typed events by declaration merging with the interface below (the usual typed-EventEmitter idiom).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class StreamClient extends BaseConnection {
  readonly id = ++nextId;
  readonly target: string;
  connectTimeout: number;
  reconnectInterval: number;
  /** Connection attempts made (the first included). */
  attempts = 0;
  /** A client keeps reading while its send buffer is full: what it reads is what it waits for. */
  protected override get pausesInputWhenFull(): boolean {
    return false;
  }
  private readonly addr: SocketAddress;
  private readonly tlsOptions: tls.ConnectionOptions | undefined;
  private readonly noDelay: boolean;
  private stopped = true;
  private connecting: net.Socket | null = null;
  private connectTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(options: StreamClientOptions) {
    super();
    EventEmitter.call(this); // an EventEmitter by mixin (see below): connections are not
    this.target = options.target;
    this.addr = parseSocketUrl(options.target);
    if (this.addr.transport === 'udp') {
      throw new BeyodError(
        ErrorCodes.URL_INVALID,
        `StreamClient target ${options.target}: udp has no stream; use tcp://, tls:// or unix://`,
        { url: options.target },
      );
    }
    this.transport = this.addr.transport;
    this.parser = options.parser ?? new Parser();
    this.connectTimeout = options.connectTimeout ?? 10;
    this.reconnectInterval = options.reconnectInterval ?? 0;
    this.tlsOptions = options.tls;
    this.noDelay = options.noDelay ?? true;
    if (options.maxSendBuffer !== undefined) this.maxSendBuffer = options.maxSendBuffer;
    this.peer = this.addr.transport === 'unix' ? this.addr.path : `${this.addr.host}:${this.addr.port}`;
  }

  /**
   * Connect. Resolves once connected. Without reconnectInterval a failed attempt rejects;
   * with it, attempts go on (each failure emitted as `error`) until one succeeds or close().
   */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    p.catch(() => {}); // a fire-and-forget connect() must not become an unhandled rejection
    if (this.stopped) {
      this.stopped = false;
      this.attempt();
    }
    return p;
  }

  private attempt(): void {
    this.retryTimer = undefined;
    if (this.stopped || this.connecting || this.socket) return;
    this.attempts++;
    const a = this.addr;
    const socket =
      a.transport === 'unix'
        ? net.connect({ path: a.path })
        : a.transport === 'tls'
          ? tls.connect({ host: a.host, port: a.port, servername: net.isIP(a.host) ? undefined : a.host, ...this.tlsOptions })
          : net.connect({ host: a.host, port: a.port, noDelay: this.noDelay });
    this.connecting = socket;
    const onError = (err: Error) => this.attemptFailed(socket, err);
    socket.once('error', onError);
    this.connectTimer = setTimeout(() => {
      socket.destroy(
        new BeyodError(ErrorCodes.CONNECT_TIMEOUT, `connecting to ${this.target} took over ${this.connectTimeout} s`, {
          target: this.target,
        }),
      );
    }, this.connectTimeout * 1000);
    socket.once(a.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(this.connectTimer);
      socket.off('error', onError);
      this.connecting = null;
      if (this.noDelay && a.transport !== 'unix') socket.setNoDelay(true);
      this.attachSocket(socket);
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x.resolve();
      this.emit('connect');
    });
  }

  private attemptFailed(socket: net.Socket, err: Error): void {
    clearTimeout(this.connectTimer);
    if (this.connecting !== socket) return;
    this.connecting = null;
    socket.destroy();
    const error =
      err instanceof BeyodError
        ? err
        : new BeyodError(
            ErrorCodes.CONNECT_FAILED,
            `cannot connect to ${this.target}: ${err.message}`,
            { target: this.target, errno: (err as NodeJS.ErrnoException).code },
            { cause: err },
          );
    this.emitError(error);
    if (this.reconnectInterval > 0 && !this.stopped) {
      this.scheduleRetry();
    } else {
      this.stopped = true;
      this.rejectWaiters(error);
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => this.attempt(), this.reconnectInterval * 1000);
  }

  private rejectWaiters(error: Error): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(error);
  }

  /** Close for good: no more reconnection. Resolves once the socket is closed. */
  override async close(message?: unknown): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.connecting) {
      clearTimeout(this.connectTimer);
      this.connecting.destroy();
      this.connecting = null;
    }
    this.rejectWaiters(new BeyodError(ErrorCodes.CLIENT_CLOSED, `client for ${this.target} was closed`, { target: this.target }));
    const socket = this.socket;
    if (!socket) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    super.close(message);
    await closed;
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  protected dispatchMessage(message: unknown): void {
    this.emit('message', new MessageEvent(this, message));
  }
  protected dispatchBadPacket(error: BeyodError): void {
    this.emit('badPacket', error);
    this.emitError(error);
  }
  protected dispatchError(error: Error): void {
    this.emitError(error);
  }
  protected dispatchBufferFull(): void {
    this.emit('bufferFull', new IOEvent(this));
  }
  protected dispatchBufferDrain(): void {
    this.emit('bufferDrain', new IOEvent(this));
  }
  protected override dispatchDeadline(kind: number): void {
    if (this.parser.onDeadline !== undefined) super.dispatchDeadline(kind);
    else this.emit('deadline', new DeadlineEvent(this, kind));
  }
  protected dispatchClose(reason: CloseReason, error: Error | undefined): void {
    this.emit('close', new CloseEvent(this, reason, error));
    if (!this.stopped && this.reconnectInterval > 0) this.scheduleRetry();
    else this.stopped = true;
  }
}

// A StreamClient is an EventEmitter; server-side connections are not (per-connection memory),
// so the emitter's methods are mixed in here rather than inherited by BaseConnection.
for (const key of Reflect.ownKeys(EventEmitter.prototype)) {
  if (key !== 'constructor')
    Object.defineProperty(StreamClient.prototype, key, Reflect.getOwnPropertyDescriptor(EventEmitter.prototype, key)!);
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface StreamClient extends EventEmitter {
  on<K extends keyof StreamClientEvents>(event: K, listener: (...args: StreamClientEvents[K]) => void): this;
  once<K extends keyof StreamClientEvents>(event: K, listener: (...args: StreamClientEvents[K]) => void): this;
  off<K extends keyof StreamClientEvents>(event: K, listener: (...args: StreamClientEvents[K]) => void): this;
  emit<K extends keyof StreamClientEvents>(event: K, ...args: StreamClientEvents[K]): boolean;
}
