import type { Socket } from 'node:net';
import { BaseConnection } from './BaseConnection';
import { BeyodError, ErrorCodes, toError } from './errors';
import {
  CloseEvent,
  type CloseReason,
  DeadlineEvent,
  ErrorEvent,
  IOEvent,
  MessageEvent,
  type ShutdownReason,
  ShutdownEvent,
  type Transport,
} from './events';
import type { Handler } from './Handler';
import type { Listener } from './Listener';
import type { Parser } from './Parser';
import type { Logger } from './logger';

let nextId = 0;

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
  ) {
    super();
    this.id = ++nextId;
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
  | 'onShutdown';

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
} as const satisfies Record<HandlerMethod, string>;

type Hooks = Partial<Record<(typeof HOOKS)[HandlerMethod], (e: unknown) => unknown>>;

export function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}
