import type { Socket } from 'node:net';
import { BaseConnection } from './BaseConnection';
import { BeyodError, ErrorCodes, toError } from './errors';
import {
  AdoptEvent,
  CloseEvent,
  type CloseReason,
  DeadlineEvent,
  ErrorEvent,
  HandoffEvent,
  IOEvent,
  MessageEvent,
  type ShutdownReason,
  ShutdownEvent,
  type Transport,
} from './events';
import { type ConnectionHandoff, HANDOFF_LATER, HANDOFF_NEVER, type StayReason, isJson } from './handoff';
import type { Handler } from './Handler';
import type { Listener } from './Listener';
import type { Parser } from './Parser';
import type { Logger } from './logger';

let nextId = 0;

/**
 * @internal Number this process's connections from `base` + 1. The master gives each process of
 * a worker id its own range, so a connection moved in from the previous process (live handoff)
 * keeps its id without meeting one minted here.
 */
export function setConnectionIdBase(base: number): void {
  if (nextId < base) nextId = base;
}

/**
 * What Connection._handoff() gives: the connection left (its record and socket; `writing`
 * while its last bytes are still being written), or it stays: not now ('later'), or why not.
 */
export type HandoffAttempt =
  { record: ConnectionHandoff; socket: Socket; writing: boolean } | 'later' | { stay: StayReason; error?: Error };

/** A client connected to one of our listeners. Events go to the listener's handler. */
export class Connection extends BaseConnection {
  readonly id: number;
  /** The handler's methods get `this` as `event.sender`. */
  private readonly handler: Handler;

  constructor(
    readonly listener: Listener,
    socket: Socket,
    handler: Handler,
    parser: Parser<unknown, unknown>,
    transport: Transport,
    /** A connection adopted from another process (live handoff) keeps its id. */
    id?: number,
  ) {
    super();
    if (id === undefined) this.id = ++nextId;
    else {
      this.id = id;
      if (id > nextId) nextId = id;
    }
    this.handler = handler;
    this.parser = parser;
    this.transport = transport;
    this.peer = transport === 'unix' ? `unix:${listener.address ?? ''}#${this.id}` : formatPeer(socket.remoteAddress, socket.remotePort);
    this.maxSendBuffer = listener.maxSendBuffer;
    this.attachSocket(socket);
  }

  /** The underlying socket (null once closed); for options beyond this API. */
  get rawSocket(): Socket | null {
    return this.socket;
  }

  private get log(): Logger {
    return this.listener.logger;
  }

  /** As call('onMessage', …), written out: the per-message path reads the hook and method by name (no keyed lookups). */
  protected dispatchMessage(message: unknown): void {
    const handler = this.handler as Handler & { beforeMessage?: (e: MessageEvent) => boolean | void };
    const event = new MessageEvent(this, message);
    try {
      const hook = handler.beforeMessage;
      if (hook !== undefined && hook.call(handler, event) === false) return;
      const r = handler.onMessage(event);
      if (r !== undefined && r !== null && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, (e: unknown) => this.handlerFailed('onMessage', e));
      }
    } catch (e) {
      this.handlerFailed('onMessage', e);
    }
  }

  protected dispatchBadPacket(error: BeyodError): void {
    this.listener.countBadPacket();
    this.log.warn({ conn: this.id, peer: this.peer, code: error.code, err: error.message }, 'bad packet, closing the connection');
    this.call('onBadPacket', new ErrorEvent(this, error));
  }

  protected dispatchError(error: Error): void {
    if (this.log.isLevelEnabled('debug')) this.log.debug({ conn: this.id, peer: this.peer, err: error.message }, 'connection error');
    this.call('onError', new ErrorEvent(this, error));
  }

  protected dispatchBufferFull(): void {
    this.call('onBufferFull', new IOEvent(this));
  }

  protected dispatchBufferDrain(): void {
    this.call('onBufferDrain', new IOEvent(this));
  }

  protected dispatchClose(reason: CloseReason, error: Error | undefined): void {
    this.listener._remove(this);
    this.call('onClose', new CloseEvent(this, reason, error));
  }

  protected override dispatchDeadline(kind: number): void {
    if (this.parser.onDeadline !== undefined) super.dispatchDeadline(kind);
    else this.call('onDeadline', new DeadlineEvent(this, kind));
  }

  /** @internal called by the listener once the connection is registered. */
  _connected(): void {
    this.call('onConnect', new IOEvent(this));
  }

  /** @internal TLS handshake done. */
  _secured(): void {
    this.call('onTlsHandshake', new IOEvent(this));
  }

  /** @internal the worker is going away: the handler's onShutdown. */
  _shutdown(reason: ShutdownReason, timeout: number, deadline: number): void {
    this.call('onShutdown', new ShutdownEvent(this, reason, timeout, deadline));
  }

  /**
   * @internal Live handoff, in the retiring worker: move this connection if it can go now.
   * Asks the parser (exportState) and the handler (beforeHandoff, onHandoff); when all agree,
   * the socket is detached (reads stop at the kernel), the listener lets it go, and the record
   * to send along with the socket is returned.
   */
  _handoff(reason: ShutdownReason): HandoffAttempt {
    if (this.transport === 'tls') return { stay: 'tls' };
    if (!this._quiet()) return 'later';
    let parserState: unknown = null;
    // the listener's parser, not this.parser: a connection switched to another protocol (HTTP's
    // 101) calls its new parser directly, but it is adopted by the listener's parser in the
    // replacement, and only that one can say how to switch it again (e.g. websocket.Parser)
    const parser = this.listener.parserInstance;
    if (parser.exportState !== undefined) {
      try {
        parserState = parser.exportState(this);
      } catch (e) {
        return { stay: 'error', error: toError(e) };
      }
      if (parserState === HANDOFF_LATER) return 'later';
      if (parserState === HANDOFF_NEVER) return { stay: 'refused' };
      if (parserState === undefined) parserState = null;
    } else if (this.parserState !== undefined) {
      return 'later';
    }
    const event = new HandoffEvent(this, reason);
    const handler = this.handler as unknown as HandoffHooks;
    let app: unknown;
    try {
      if (handler.beforeHandoff !== undefined && handler.beforeHandoff(event) === false) event.defer();
      if (event._verdict === 0) app = handler.onHandoff(event);
    } catch (e) {
      return { stay: 'error', error: toError(e) };
    }
    if (event._verdict === 1) return 'later';
    if (event._verdict === 2) return { stay: 'refused' };
    if (app === undefined) app = null;
    if (app !== null && typeof (app as Promise<unknown>).then === 'function') {
      return { stay: 'error', error: new Error('onHandoff returned a promise: it must return the state itself (synchronously)') };
    }
    for (const [what, v] of [
      ['onHandoff returned', app],
      ['beforeHandoff left protocolState', event.protocolState],
      ['the parser exportState() returned', parserState],
    ] as const) {
      if (!isJson(v)) return { stay: 'error', error: new Error(`${what} something that is not JSON`) };
    }
    const attributes: Array<[string, unknown]> = [];
    for (const [k, v] of this.attributes) if (isJson(v)) attributes.push([k, v]);
    const { socket, unparsed, deadline } = this._detach();
    this.listener._moved(this);
    try {
      handler.afterHandoff?.(event);
    } catch (e) {
      this.log.error({ conn: this.id, err: toError(e) }, 'afterHandoff failed');
    }
    const record: ConnectionHandoff = {
      listener: this.listener.name,
      id: this.id,
      peer: this.peer,
      transport: this.transport as 'tcp' | 'unix',
      connectedAt: this.connectedAt,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      messagesDropped: this.messagesDropped,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      unparsed: unparsed === null ? '' : unparsed.toString('base64'),
      parser: parserState,
      protocol: event.protocolState,
      app,
      attributes,
      deadline,
      reason,
    };
    return { record, socket, writing: socket.writableLength > 0 };
  }

  /**
   * @internal Live handoff, in the replacement worker: restore what moved with this
   * connection (counters, attributes, parser state, deadline), tell the handler (beforeAdopt,
   * onAdopt), then parse the bytes it had received and not parsed. False if the parser could
   * not take its state (the connection is then closed).
   */
  _adopt(h: ConnectionHandoff, fromPid: number): boolean {
    this._restore(h);
    this.peer = h.peer;
    for (const [k, v] of h.attributes) this.attributes.set(k, v);
    const parser = this.parser;
    try {
      if (parser.importState !== undefined) parser.importState(h.parser, this);
      else if (h.parser !== null) throw new Error(`parser ${parser.constructor.name} has no importState() for the state it was sent`);
    } catch (e) {
      const cause = toError(e);
      const error = new BeyodError(ErrorCodes.HANDOFF_FAILED, `cannot adopt connection ${this.id} from ${h.peer}: ${cause.message}`, {
        conn: this.id,
      });
      this.log.error({ conn: this.id, peer: this.peer, err: cause.message }, error.message);
      this.destroy('error', error);
      return false;
    }
    if (h.deadline !== null) this.setDeadline(h.deadline.in, h.deadline.kind);
    this.call('onAdopt', new AdoptEvent(this, h.app, h.protocol, fromPid, h.reason));
    if (h.unparsed !== '' && this.connected) this._receive(Buffer.from(h.unparsed, 'base64'));
    return true;
  }

  /**
   * Call the handler's protocol hook for this event (before*), then its on* method unless the
   * hook returned false. A throw or a rejected promise goes to onError (once, never looping).
   */
  private call(method: HandlerMethod, event: unknown): void {
    const handler = this.handler as unknown as Record<HandlerMethod, (e: unknown) => unknown> & Hooks;
    try {
      const hook = handler[HOOKS[method]];
      if (hook !== undefined && hook.call(handler, event) === false) return;
      const r = handler[method](event);
      if (r !== undefined && r !== null && typeof (r as Promise<unknown>).then === 'function') {
        (r as Promise<unknown>).then(undefined, (e: unknown) => this.handlerFailed(method, e));
      }
    } catch (e) {
      this.handlerFailed(method, e);
    }
  }

  private handlerFailed(method: HandlerMethod, e: unknown): void {
    const cause = toError(e);
    this.log.error({ conn: this.id, peer: this.peer, err: cause }, `handler ${method} failed`);
    if (method === 'onError') return;
    const error = new BeyodError(ErrorCodes.HANDLER_FAILED, `${method} failed: ${cause.message}`, { method }, { cause });
    this.call('onError', new ErrorEvent(this, error));
  }
}

type HandlerMethod =
  | 'onConnect'
  | 'onMessage'
  | 'onClose'
  | 'onError'
  | 'onBadPacket'
  | 'onBufferFull'
  | 'onBufferDrain'
  | 'onTlsHandshake'
  | 'onDeadline'
  | 'onShutdown'
  | 'onAdopt';

/** The protocol hook called before each handler method (see Handler). */
const HOOKS = {
  onConnect: 'beforeConnect',
  onMessage: 'beforeMessage',
  onClose: 'beforeClose',
  onError: 'beforeError',
  onBadPacket: 'beforeBadPacket',
  onBufferFull: 'beforeBufferFull',
  onBufferDrain: 'beforeBufferDrain',
  onTlsHandshake: 'beforeTlsHandshake',
  onDeadline: 'beforeDeadline',
  onShutdown: 'beforeShutdown',
  onAdopt: 'beforeAdopt',
} as const satisfies Record<HandlerMethod, string>;

/** The handler as _handoff() calls it (its protocol hooks are protected). */
interface HandoffHooks {
  beforeHandoff?(event: HandoffEvent): boolean | void;
  onHandoff(event: HandoffEvent): unknown;
  afterHandoff?(event: HandoffEvent): void;
}

type Hooks = Partial<Record<(typeof HOOKS)[HandlerMethod], (e: unknown) => unknown>>;

export function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}
