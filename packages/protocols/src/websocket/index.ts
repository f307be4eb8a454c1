export { type WebSocketErrorCode, WebSocketErrorCodes } from './errors';
export { HandshakeEvent, WebSocketCloseEvent } from './events';
export {
  CloseCode,
  ControlFrame,
  Opcode,
  PENDING,
  ProtocolViolation,
  WebSocketFrame,
  closePayload,
  encodeFrame,
  frameHeader,
  isValidCloseCode,
  unmask,
} from './frame';
export { WebSocketHandler as Handler, WebSocketHandler, type WebSocketMessageEvent } from './WebSocketHandler';
export { WebSocketParser as Parser, WebSocketParser, WebSocketState, webSocketStateOf } from './WebSocketParser';
