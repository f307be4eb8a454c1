import type { CloseEvent, DeadlineEvent, ErrorEvent, IOEvent, ListenerEvent, MessageEvent, UdpPacketEvent } from './events';
import type { Listener } from './Listener';

type Maybe<T> = T | Promise<T>;

/**
 * Application callbacks of a listener. Override what you need; every method may return a
 * promise (its rejection is reported through onError, never an unhandled rejection).
 * One handler instance serves all connections of its listener in a worker.
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
}
