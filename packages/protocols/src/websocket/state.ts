import type { Endpoint } from '@beyod/core';
import type { DeflateContext } from './deflate';
import { CloseCode, type ProtocolViolation } from './frame';
import { MessageBuffer } from './MessageBuffer';

/** What the packet input() announced is (WebSocketState.packet). */
export const PacketKind = {
  /** A whole frame, header and payload. */
  FRAME: 0,
  /** The header of a data frame whose payload follows in pieces. */
  HEAD: 1,
  /** A piece of the payload of the frame being read. */
  PIECE: 2,
} as const;

/** Per-connection WebSocket state: the connection's parserState once the 101 is sent. */
export class WebSocketState {
  /** What the packet input() announced is (a PacketKind). */
  packet: number = PacketKind.FRAME;
  /** Payload bytes of the frame being read in pieces still to come (0 = a header is next). */
  remaining = 0;
  /** That frame's mask, and the payload offset the next piece starts at. */
  mask: Buffer | null = null;
  maskAt = 0;
  /** That frame has FIN set. */
  frameFin = false;
  /** Opcode of the data message being received (0 = none). */
  messageOpcode = 0;
  /** That message is compressed (RSV1 on its first frame). */
  compressed = false;
  /** Frames of that message so far. */
  fragments = 0;
  /** Payload bytes of that message so far, as received (compressed when it is). */
  messageBytes = 0;
  /** Its payload, when it is received in more than one piece. */
  readonly message = new MessageBuffer();
  /** permessage-deflate, when it was agreed on. */
  deflate: DeflateContext | undefined = undefined;
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
    /** The extensions agreed on, as sent in Sec-WebSocket-Extensions ('' = none). */
    readonly extensions = '',
  ) {}
}

/** The WebSocket state of a connection, once upgraded. */
export function webSocketStateOf(conn: Endpoint): WebSocketState | undefined {
  const s = conn.parserState;
  return s instanceof WebSocketState ? s : undefined;
}
