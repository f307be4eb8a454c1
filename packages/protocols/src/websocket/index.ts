export { type PerMessageDeflateOptions } from './deflate';
export { type WebSocketErrorCode, WebSocketErrorCodes } from './errors';
export { HandshakeEvent, WebSocketCloseEvent } from './events';
export { CloseCode, ControlFrame, Opcode, ProtocolViolation, WebSocketFrame } from './frame';
export { WebSocketState } from './state';
export { WebSocketFrameParser } from './WebSocketFrameParser';
export { WebSocketHandler as Handler, WebSocketHandler, type WebSocketMessageEvent } from './WebSocketHandler';
export { WebSocketParser as Parser, WebSocketParser } from './WebSocketParser';
