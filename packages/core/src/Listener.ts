import * as cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { type ObjectFactory, createObjectWith } from './objects';
import { Connection } from './Connection';
import type { ConnectionCounters, ConnectionHandoff } from './handoff';
import { BeyodError, ConfigError, ErrorCodes, toError } from './errors';
import { ListenerEvent } from './events';
import { fdBudget, isOutOfDescriptors } from './FdBudget';
import { Handler } from './Handler';
import { type Logger, rootLogger } from './logger';
import { Parser } from './Parser';
import type { Server } from './Server';
import { type UdpCounters, UdpListener } from './UdpListener';
import { type SocketAddress, parseSocketUrl } from './url';
import { cleanStaleUnixSocket } from './unixSocket';

/** TLS options of a tls:// listener: node's secure-context options; key/cert may be file paths. */
export interface TlsOptions extends tls.SecureContextOptions {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
}

/** The configurable part of a Listener. */
export interface ListenerOptions {
  /** tcp://host:port, tls://host:port (ssl:// too), udp://host:port, unix:///path. */
  listen: string;
  /** A Handler class, instance, or { class, ...props }. */
  handler: unknown;
  /** A Parser class, instance, or { class, ...props }. Default: no framing. */
  parser: unknown;
  /** Live connections above which new ones are closed at once (0 = no limit). */
  maxConnections: number;
  /** Seconds without traffic either way after which a connection is closed (0 = never). */
  idleTimeout: number;
  backlog: number;
  /** TCP_NODELAY (default true: a server of small messages wants them out now). */
  noDelay: boolean;
  /** TCP keep-alive initial delay in seconds (0 = off). */
  keepAlive: number;
  /** Per-connection send buffer limit in bytes (see Connection.send). */
  maxSendBuffer: number;
  /** Seconds a tls:// client has to finish its handshake. */
  handshakeTimeout: number;
  tls: TlsOptions | undefined;
  /**
   * Live handoff: on a reload or recycle, this listener's connections may move to the
   * replacement worker instead of draining (default true; tls:// and udp:// never move).
   */
  handoff: boolean;
}

/** Counters of a listener; message and byte totals include closed connections. */
export interface ListenerStats {
  name: string;
  listen: string;
  /** The bound address ("host:port" or the socket path), once listening. */
  address: string | undefined;
  connections: number;
  accepted: number;
  closed: number;
  /** Connections closed at once: over maxConnections, or the process out of file descriptors. */
  rejected: number;
  badPackets: number;
  /** Connections that moved here from the previous process of this worker id (live handoff). */
  adopted: number;
  /** Connections that moved from here to the replacement process (live handoff). */
  handedOff: number;
  /**
   * Messages and bytes count what this process handled: an adopted connection's counters go on
   * from where they were (`beyod connections`), but what it did before it came is not added here.
   */
  messagesIn: number;
  messagesOut: number;
  /** Messages dropped on a full send buffer (the 'drop' send policy, or trySend()). */
  dropped: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Accepts connections (or datagrams) on one address and hands them to its handler through
 * its parser. It owns its live connections (`connections`) and counts what passes.
 */
export class Listener implements ListenerOptions {
  /** The listener's key in server.listeners. */
  name = 'default';
  listen = '';
  handler: unknown = Handler;
  parser: unknown = Parser;
  maxConnections = 0;
  idleTimeout = 0;
  backlog = 511;
  noDelay = true;
  keepAlive = 0;
  maxSendBuffer = 1024 * 1024;
  handshakeTimeout = 10;
  tls: TlsOptions | undefined = undefined;
  handoff = true;

  /** The server this listener belongs to (set when a Server runs it): handlers reach
   * getWorkerId(), getGpid() and the app through `this.listener.server`. */
  server: Server | undefined = undefined;
  /** Builds the handler and parser (the application's DI container when run by a Server). */
  factory: ObjectFactory | undefined = undefined;
  /** Relative unix paths and TLS files resolve against this (the app directory). */
  basePath = process.cwd();
  /** Where config errors point (e.g. components.server.listeners.web). */
  keyPath = 'listener';
  logger: Logger = rootLogger();

  readonly connections = new Map<number, Connection>();
  /** The bound address once listening: "host:port" or the unix path. */
  address: string | undefined = undefined;
  /** The bound port once listening (useful with port 0). */
  port = 0;

  private readonly counters = { accepted: 0, closed: 0, rejected: 0, badPackets: 0, adopted: 0, handedOff: 0 };
  private readonly closedTotals = { messagesIn: 0, messagesOut: 0, dropped: 0, bytesIn: 0, bytesOut: 0 };
  /** What adopted connections had counted before they came (taken out of this listener's totals). */
  private readonly carried = { messagesIn: 0, messagesOut: 0, dropped: 0, bytesIn: 0, bytesOut: 0 };
  private addr: SocketAddress | undefined;
  private handlerObj: Handler | undefined;
  private parserObj: Parser<unknown, unknown> | undefined;
  private netServer: net.Server | null = null;
  /** The datagram side, for udp:// (see UdpListener). */
  private udp: UdpListener | null = null;
  private secureContext: tls.SecureContext | undefined;
  private accepting = false;
  /** Datagrams counted by the UDP side (they outlive its socket, like closedTotals). */
  private readonly udpCounters: UdpCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };

  /** Validate the options; called by the factory after the properties are set. */
  init(): void {
    try {
      this.addr = parseSocketUrl(this.listen, this.basePath);
    } catch (e) {
      throw new ConfigError(`${this.keyPath}.listen`, toError(e).message);
    }
    for (const key of ['maxConnections', 'idleTimeout', 'backlog', 'keepAlive', 'maxSendBuffer', 'handshakeTimeout'] as const) {
      if (!(this[key] >= 0)) throw new ConfigError(`${this.keyPath}.${key}`, `expected a number >= 0, got ${String(this[key])}`);
    }
    if (typeof this.handoff !== 'boolean')
      throw new ConfigError(`${this.keyPath}.handoff`, `expected true or false, got ${String(this.handoff)}`);
    if (this.addr.transport === 'tls' && !this.tls) {
      throw new ConfigError(`${this.keyPath}.tls`, `${this.listen} needs tls: { key, cert } (PEM text or file paths)`);
    }
  }

  get transport(): SocketAddress['transport'] {
    return this.socketAddress.transport;
  }

  private get socketAddress(): SocketAddress {
    if (!this.addr) this.init();
    return this.addr as SocketAddress;
  }

  /** The handler instance (built on start). */
  get handlerInstance(): Handler {
    if (!this.handlerObj) this.createComponents();
    return this.handlerObj as Handler;
  }

  /** The parser instance (built on start). */
  get parserInstance(): Parser<unknown, unknown> {
    if (!this.parserObj) this.createComponents();
    return this.parserObj as Parser<unknown, unknown>;
  }

  private createComponents(): void {
    const make = <T>(def: unknown, key: string, cls: new () => T): T =>
      this.factory
        ? this.factory.createObject<T>(def, `${this.keyPath}.${key}`, cls)
        : createObjectWith<T>(undefined, def, `${this.keyPath}.${key}`, cls);
    this.parserObj = make<Parser<unknown, unknown>>(this.parser, 'parser', Parser);
    const handler = make<Handler>(this.handler, 'handler', Handler);
    handler.listener = this;
    this.handlerObj = handler;
  }

  /** Bind and start accepting. Resolves once listening; rejects with BEYOD_LISTEN_FAILED. */
  async start(): Promise<void> {
    const addr = this.socketAddress;
    fdBudget.init();
    this.createComponents();
    if (addr.transport === 'tls') this.secureContext = tls.createSecureContext(this.loadTlsFiles(this.tls ?? {}));
    if (addr.transport === 'udp') await this.bindUdp(addr);
    else await this.listenStream(addr);
    this.accepting = true;
    this._callHandler('onStartAccept', new ListenerEvent(this));
  }

  private loadTlsFiles(options: TlsOptions): TlsOptions {
    const out: Record<string, unknown> = { ...options };
    for (const key of ['key', 'cert', 'ca', 'pfx', 'crl'] as const) {
      const v = out[key];
      if (typeof v === 'string' && !v.includes('-----BEGIN')) {
        const file = this.resolve(v);
        try {
          out[key] = fs.readFileSync(file);
        } catch (e) {
          throw new ConfigError(`${this.keyPath}.tls.${key}`, `cannot read ${file}: ${toError(e).message}`);
        }
      }
    }
    return out as TlsOptions;
  }

  private resolve(p: string): string {
    return path.resolve(this.basePath, p);
  }

  private listenStream(addr: SocketAddress): Promise<void> {
    const server = net.createServer({ noDelay: this.noDelay, keepAlive: this.keepAlive > 0, keepAliveInitialDelay: this.keepAlive * 1000 });
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (err: NodeJS.ErrnoException) => {
      // accept() failed for want of descriptors (libuv has closed the pending connections):
      // refuse until some close, logged once per episode — not an error per connection
      if (isOutOfDescriptors(err)) fdBudget.exhausted(this.logger, this.name, err);
      else this.logger.error({ listener: this.name, err }, 'listener error');
    });
    this.netServer = server;
    return new Promise<void>((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) => {
        this.netServer = null;
        reject(listenFailed(this, err));
      };
      server.once('error', fail);
      const done = () => {
        server.off('error', fail);
        const a = server.address();
        if (a && typeof a === 'object') {
          this.port = a.port;
          this.address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
        } else {
          this.address = addr.path;
        }
        resolve();
      };
      if (addr.transport === 'unix') {
        const go = () => server.listen({ path: addr.path, backlog: this.backlog }, done);
        // In a cluster the primary cleans stale socket files before forking: a worker seeing the
        // file would find it alive (a sibling bound it) and refuse wrongly.
        if (cluster.default.isWorker) go();
        else cleanStaleUnixSocket(addr.path).then(go, reject);
      } else {
        server.listen({ host: addr.host, port: addr.port, backlog: this.backlog }, done);
      }
    });
  }

  private async bindUdp(addr: SocketAddress): Promise<void> {
    const udp = new UdpListener(this, this.udpCounters);
    try {
      const { port, address } = await udp.bind(addr);
      this.port = port;
      this.address = address;
    } catch (e) {
      throw listenFailed(this, e as NodeJS.ErrnoException);
    }
    this.udp = udp;
  }

  private accept(raw: net.Socket): void {
    if (this.maxConnections > 0 && this.connections.size >= this.maxConnections) {
      this.counters.rejected++;
      if (this.logger.isLevelEnabled('debug'))
        this.logger.debug({ listener: this.name, max: this.maxConnections }, 'maxConnections reached, connection refused');
      raw.destroy();
      return;
    }
    // Near the process's file descriptor limit: refuse, and keep serving the others.
    if (!fdBudget.take(this.logger, this.name)) {
      this.counters.rejected++;
      raw.destroy();
      return;
    }
    const transport = this.socketAddress.transport;
    let socket: net.Socket = raw;
    if (transport === 'tls') {
      const o = this.tls ?? {};
      socket = new tls.TLSSocket(raw, {
        isServer: true,
        secureContext: this.secureContext,
        requestCert: o.requestCert,
        rejectUnauthorized: o.rejectUnauthorized,
        ALPNProtocols: o.ALPNProtocols,
      });
    }
    const conn = new Connection(this, socket, this.handlerInstance, this.parserInstance, transport);
    this.connections.set(conn.id, conn);
    this.counters.accepted++;
    if (this.idleTimeout > 0) conn._setIdleTimeout(this.idleTimeout * 1000);
    if (transport !== 'tls') {
      conn._connected();
      return;
    }
    const timer = setTimeout(
      () =>
        conn.destroy(
          'idle',
          new BeyodError(ErrorCodes.CONNECT_TIMEOUT, `TLS handshake from ${conn.peer} not done within ${this.handshakeTimeout} s`),
        ),
      this.handshakeTimeout * 1000,
    );
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('secure', () => {
      clearTimeout(timer);
      const t = socket as tls.TLSSocket;
      if (this.tls?.requestCert && this.tls.rejectUnauthorized !== false && !t.authorized) {
        conn.destroy('error', new BeyodError(ErrorCodes.BAD_PACKET, `TLS client certificate refused: ${String(t.authorizationError)}`));
        return;
      }
      conn._secured();
      conn._connected();
    });
  }

  /** @internal send a datagram for a UdpPeer. */
  _sendTo(data: Buffer | string | ReadonlyArray<Buffer | string>, port: number, host: string): boolean {
    return this.udp?.sendTo(data, port, host) ?? false;
  }

  /**
   * Count a bad packet in this listener's stats. The connection does it for what its parser
   * refuses; a protocol that answers bad input itself (HTTP's 400, WebSocket's 1002) calls this.
   */
  countBadPacket(): void {
    this.counters.badPackets++;
  }

  /**
   * What a replacement worker must run for this listener's connections to move to it (live
   * handoff): its name, address, transport and parser class; undefined when they never move.
   */
  handoffSignature(): string | undefined {
    const transport = this.transport;
    if (!this.handoff || (transport !== 'tcp' && transport !== 'unix')) return undefined;
    return `${this.listen}|${this.parserInstance.constructor.name}`;
  }

  /**
   * @internal Live handoff: make a Connection of a socket that moved here from the previous
   * process of this worker id, and restore it. Undefined (the socket closed) when this listener
   * does not accept any more or the process is out of file descriptors.
   */
  _adopt(socket: net.Socket, h: ConnectionHandoff, fromPid: number): Connection | undefined {
    if (!this.accepting || this.connections.has(h.id) || !fdBudget.take(this.logger, this.name)) {
      const why = !this.accepting ? 'it no longer accepts' : this.connections.has(h.id) ? 'that id is taken' : 'no file descriptor left';
      this.logger.warn(
        { listener: this.name, conn: h.id, peer: h.peer },
        `cannot adopt a connection moved from pid ${fromPid}: ${why}; closing it`,
      );
      if (this.accepting && !this.connections.has(h.id)) this.counters.rejected++;
      socket.destroy();
      return undefined;
    }
    const conn = new Connection(this, socket, this.handlerInstance, this.parserInstance, h.transport, h.id);
    this.connections.set(conn.id, conn);
    this.counters.adopted++;
    addTotals(this.carried, h);
    if (this.idleTimeout > 0) conn._setIdleTimeout(this.idleTimeout * 1000);
    conn._adopt(h, fromPid);
    return conn;
  }

  /** @internal a connection moved to another process (live handoff): like a close, without one. */
  _moved(conn: Connection): void {
    this.counters.handedOff++;
    this.counters.closed--; // _remove counts it as closed: it was not
    this._remove(conn);
  }

  /** @internal a connection ended. */
  _remove(conn: Connection): void {
    if (!this.connections.delete(conn.id)) return;
    fdBudget.release(this.logger);
    this.counters.closed++;
    addTotals(this.closedTotals, conn);
    if (this.connections.size === 0) this.emitEmpty();
  }

  private emptyWaiters: Array<() => void> = [];
  private emitEmpty(): void {
    const w = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const f of w) f();
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** Stop accepting new connections (open ones carry on). */
  async stopAccept(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    const server = this.netServer;
    const udp = this.udp;
    this.netServer = null;
    this.udp = null;
    // close() stops accepting at once; its callback would wait for every connection to end.
    if (server) server.close();
    if (udp) await udp.close();
    this._callHandler('onStopAccept', new ListenerEvent(this));
  }

  /**
   * Stop: no new connections, then wait up to `timeout` seconds for open ones to finish, then
   * close the rest (queued data is flushed; a peer that does not read is cut off after
   * closeTimeout).
   */
  async stop(timeout = 0): Promise<void> {
    await this.stopAccept();
    if (this.connections.size > 0 && timeout > 0) await this.waitEmpty(timeout * 1000);
    if (this.connections.size === 0) return;
    for (const conn of this.connections.values()) conn.close();
    await this.waitEmpty(1000);
    for (const conn of this.connections.values()) conn.destroy('shutdown');
    await this.waitEmpty(1000);
  }

  private waitEmpty(ms: number): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.emptyWaiters.push(done);
    });
  }

  /** Counters, message and byte totals over live and closed connections. */
  getStats(): ListenerStats {
    const s: ListenerStats = {
      name: this.name,
      listen: this.listen,
      address: this.address,
      connections: this.connections.size,
      ...this.counters,
      messagesIn: this.closedTotals.messagesIn + this.udpCounters.messagesIn - this.carried.messagesIn,
      messagesOut: this.closedTotals.messagesOut + this.udpCounters.messagesOut - this.carried.messagesOut,
      dropped: this.closedTotals.dropped - this.carried.dropped,
      bytesIn: this.closedTotals.bytesIn + this.udpCounters.bytesIn - this.carried.bytesIn,
      bytesOut: this.closedTotals.bytesOut + this.udpCounters.bytesOut - this.carried.bytesOut,
    };
    for (const c of this.connections.values()) {
      s.messagesIn += c.messagesIn;
      s.messagesOut += c.messagesOut;
      s.dropped += c.messagesDropped;
      s.bytesIn += c.bytesIn;
      s.bytesOut += c.bytesOut;
    }
    return s;
  }

  /** @internal Call a listener-level handler method; a throw or rejection is logged. */
  _callHandler(method: 'onStartAccept' | 'onStopAccept' | 'onBadPacket' | 'onError', event: unknown): void {
    const h = this.handlerObj as unknown as Record<string, (e: unknown) => unknown> | undefined;
    if (!h) return;
    try {
      const r = h[method]!(event);
      if (r && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).then(undefined, (e: unknown) =>
          this.logger.error({ listener: this.name, err: toError(e) }, `handler ${method} failed`),
        );
      }
    } catch (e) {
      this.logger.error({ listener: this.name, err: toError(e) }, `handler ${method} failed`);
    }
  }
}

type Totals = { messagesIn: number; messagesOut: number; dropped: number; bytesIn: number; bytesOut: number };

/** Add a connection's counters to a listener's totals. */
function addTotals(t: Totals, c: ConnectionCounters): void {
  t.messagesIn += c.messagesIn;
  t.messagesOut += c.messagesOut;
  t.dropped += c.messagesDropped;
  t.bytesIn += c.bytesIn;
  t.bytesOut += c.bytesOut;
}

function listenFailed(l: Listener, err: NodeJS.ErrnoException): BeyodError {
  const what =
    err.code === 'EADDRINUSE'
      ? 'the address is already in use (another server, or another beyod instance?)'
      : err.code === 'EACCES'
        ? 'permission denied (ports below 1024 need root)'
        : err.code === 'EADDRNOTAVAIL'
          ? 'that address is not on this machine'
          : err.message;
  return new BeyodError(
    ErrorCodes.LISTEN_FAILED,
    `${l.keyPath}.listen: listener '${l.name}' cannot listen on ${l.listen}: ${what}`,
    { listener: l.name, listen: l.listen, errno: err.code },
    { cause: err },
  );
}
