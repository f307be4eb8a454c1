import { CloseEvent, type CloseReason, type Connection, IOEvent } from '@beyod/core';
import type { HttpRequest } from '../http';

/** onHandshake: the 101 was sent; `request` is the upgrade request, `protocol` the agreed subprotocol ('' = none). */
export class HandshakeEvent extends IOEvent<Connection> {
  constructor(
    sender: Connection,
    readonly request: HttpRequest,
    readonly protocol: string,
  ) {
    super(sender);
  }
}

/**
 * onClose of a WebSocket connection: `code` and `closeReason` from the close frame that ended
 * it (the peer's, or ours), 1006 and '' when the connection dropped without one. `reason` is
 * the connection's close reason, as for every connection ('peer', 'local', 'idle' ...).
 */
export class WebSocketCloseEvent extends CloseEvent<Connection> {
  constructor(
    sender: Connection,
    reason: CloseReason,
    error: Error | undefined,
    readonly code: number,
    readonly closeReason: string,
  ) {
    super(sender, reason, error);
  }
}
