/** Error codes of the WebSocket protocol (listed in docs/websocket.md and docs/errors.md). */
export const WebSocketErrorCodes = {
  /** The peer broke RFC 6455 (unmasked frame, bad opcode, bad close frame ...): closed with 1002. */
  PROTOCOL_ERROR: 'BEYOD_WS_PROTOCOL_ERROR',
  /** A text message or close reason was not valid UTF-8: closed with 1007. */
  INVALID_UTF8: 'BEYOD_WS_INVALID_UTF8',
  /** A message was over maxPayload (received, or once inflated): closed with 1009. */
  MESSAGE_TOO_BIG: 'BEYOD_WS_MESSAGE_TOO_BIG',
  /** A message came in more frames than maxFragments: closed with 1008. */
  TOO_MANY_FRAGMENTS: 'BEYOD_WS_TOO_MANY_FRAGMENTS',
  /** A compressed message (permessage-deflate) was not valid deflate data: closed with 1007. */
  INVALID_COMPRESSED_DATA: 'BEYOD_WS_INVALID_COMPRESSED_DATA',
  /** The upgrade request was refused (bad key or version, origin, path): answered 400/403/404/426. */
  HANDSHAKE_REFUSED: 'BEYOD_WS_HANDSHAKE_REFUSED',
  /** A heartbeat ping went unanswered: the connection was dropped (1006). */
  HEARTBEAT_TIMEOUT: 'BEYOD_WS_HEARTBEAT_TIMEOUT',
} as const;

export type WebSocketErrorCode = (typeof WebSocketErrorCodes)[keyof typeof WebSocketErrorCodes];
