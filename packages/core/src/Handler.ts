import type {
  AdoptEvent,
  CloseEvent,
  DeadlineEvent,
  ErrorEvent,
  HandoffEvent,
  IOEvent,
  ListenerEvent,
  MessageEvent,
  ShutdownEvent,
  UdpPacketEvent,
} from './events';
import type { Listener } from './Listener';

type Maybe<T> = T | Promise<T>;

/**
 * Application callbacks of a listener. Override what you need; every method may return a
 * promise (its rejection is reported through onError, never an unhandled rejection).
 * One handler instance serves all connections of its listener in a worker.
 *
 * **Protocol hooks.** A handler that implements a protocol (http.Handler, websocket.Handler…)
 * puts its own part of an event in the matching `before*` method: the connection calls it
 * first, then the `on*` method, so the protocol's logic runs however a user's subclass
 * defines (or replaces) `onConnect`, `onClose`… — an override without a super call, or a
 * class field `onClose = () => …`. A hook that returns `false` stops the event there (the
 * `on*` method is not called): e.g. a protocol that consumes some messages itself. Hooks are
 * synchronous; a throw is reported like a handler's (onError, BEYOD_HANDLER_FAILED).
 * Applications override `on*`; a protocol's subclass that overrides a `before*` method must
 * call super.
 */
export class Handler {
  /** The listener this handler serves (set before any event). */
  listener: Listener | undefined = undefined;

  onConnect(_event: IOEvent): Maybe<void> {}
  onMessage(_event: MessageEvent): Maybe<void> {}
  onClose(_event: CloseEvent): Maybe<void> {}
  /** A socket error, a handler that threw, a send dropped under the 'drop' policy. The connection may carry on. */
  onError(_event: ErrorEvent): Maybe<void> {}
  /** The parser refused the bytes; the connection is closed right after. */
  onBadPacket(_event: ErrorEvent): Maybe<void> {}
  /**
   * The send buffer went over maxSendBuffer: stop pushing to this connection until
   * onBufferDrain. Under the parser's 'pause' send policy its input is paused meanwhile; under
   * 'drop', sends are dropped meanwhile.
   */
  onBufferFull(_event: IOEvent): Maybe<void> {}
  onBufferDrain(_event: IOEvent): Maybe<void> {}
  onTlsHandshake(_event: IOEvent): Maybe<void> {}
  /** The deadline armed with `connection.setDeadline(ms, kind)` passed (unless the parser owns deadlines). */
  onDeadline(_event: DeadlineEvent): Maybe<void> {}
  /** A UDP datagram before parsing; return false to drop it. */
  onUdpPacket(_event: UdpPacketEvent): Maybe<void | boolean> {}
  onStartAccept(_event: ListenerEvent): Maybe<void> {}
  onStopAccept(_event: ListenerEvent): Maybe<void> {}
  /**
   * The worker is going away (stop, reload, recycle, scale-down): called once per live
   * connection after the listener stopped accepting, before the worker waits up to
   * `event.timeout` seconds for connections to close. Default: nothing (the peer sees the
   * close when the time is up).
   */
  onShutdown(_event: ShutdownEvent): Maybe<void> {}
  /**
   * Live handoff (a reload or recycle; see docs/processes.md): this connection is about to move
   * to the replacement worker. Return what onAdopt needs there, as JSON (the attributes whose
   * values are JSON move anyway); `event.defer()` if it cannot move yet, `event.refuse()` if it
   * must stay and drain. Synchronous: the move happens as this returns. Once it moved, the
   * connection is no longer this process's: onClose is not called for it, send() returns false;
   * drop it from your own structures here. Default: no state of its own.
   */
  onHandoff(_event: HandoffEvent): unknown {
    return null;
  }
  /**
   * Live handoff: a connection moved here from the previous process of this worker id (instead
   * of onConnect). `event.state` is what onHandoff returned there; its id, counters, JSON
   * attributes and protocol state are restored.
   */
  onAdopt(_event: AdoptEvent): Maybe<void> {}

  // Protocol hooks (see the class comment): run before the on* method of the same event.
  protected beforeConnect?(event: IOEvent): boolean | void;
  protected beforeMessage?(event: MessageEvent): boolean | void;
  protected beforeClose?(event: CloseEvent): boolean | void;
  protected beforeError?(event: ErrorEvent): boolean | void;
  protected beforeBadPacket?(event: ErrorEvent): boolean | void;
  protected beforeBufferFull?(event: IOEvent): boolean | void;
  protected beforeBufferDrain?(event: IOEvent): boolean | void;
  protected beforeTlsHandshake?(event: IOEvent): boolean | void;
  protected beforeDeadline?(event: DeadlineEvent): boolean | void;
  protected beforeShutdown?(event: ShutdownEvent): boolean | void;
  /**
   * Live handoff, for protocols: whether the connection can move now (`event.defer()`,
   * `event.refuse()`), and the protocol's own state in `event.protocolState` (JSON). Must have
   * no side effect: it may be asked again, and the move may still not happen.
   */
  protected beforeHandoff?(event: HandoffEvent): boolean | void;
  /** Live handoff, for protocols: the connection has left this process; forget it (onClose is not called). */
  protected afterHandoff?(event: HandoffEvent): void;
  /** Live handoff, for protocols: restore the protocol's state (event.protocolState) before onAdopt. */
  protected beforeAdopt?(event: AdoptEvent): boolean | void;
}
