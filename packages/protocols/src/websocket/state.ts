import type { Endpoint } from '@beyod/core';
import { CloseCode, type ProtocolViolation } from './frame';

/** Per-connection WebSocket state: the connection's parserState once the 101 is sent. */
export class WebSocketState {
  /** Opcode of the fragmented message being received (0 = none). */
  fragmentOpcode = 0;
  fragments: Buffer[] = [];
  fragmentBytes = 0;
  violation: ProtocolViolation | undefined = undefined;
  failed = false;
  closeSent = false;
  closeReceived = false;
  /** The close code and reason reported to onClose. */
  closeCode: number = CloseCode.ABNORMAL;
  closeReason = '';
  /** Something came from the peer since the last heartbeat ping. */
  alive = true;

  constructor(
    /** The subprotocol agreed on ('' = none). */
    readonly protocol: string,
  ) {}
}

/** The WebSocket state of a connection, once upgraded. */
export function webSocketStateOf(conn: Endpoint): WebSocketState | undefined {
  const s = conn.parserState;
  return s instanceof WebSocketState ? s : undefined;
}
