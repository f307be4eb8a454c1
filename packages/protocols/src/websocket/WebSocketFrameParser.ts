import { isUtf8 } from 'node:buffer';
import { type Encoded, type Endpoint, Parser } from '@beyod/core';
import { WebSocketErrorCodes } from './errors';
import {
  CloseCode,
  ControlFrame,
  Opcode,
  PENDING,
  ProtocolViolation,
  WebSocketFrame,
  encodeFrame,
  isValidCloseCode,
  unmask,
} from './frame';
import { WebSocketState } from './state';

/**
 * RFC 6455 framing alone: one packet is one frame, on a connection whose parserState is a
 * WebSocketState (one is created when there is none). Client frames must be masked (1002
 * otherwise); a frame or message over `maxPayload` is refused from its header (1009) before
 * its payload is buffered; fragments are joined and text is checked to be UTF-8 (1007). Ping,
 * pong and close frames are decoded as ControlFrame; websocket.Handler answers them.
 *
 * websocket.Parser hands a connection to it after the handshake (the 101).
 *
 * encode(): a string is sent as a text frame, a Buffer as a binary one, a WebSocketFrame as given.
 */
export class WebSocketFrameParser extends Parser<unknown, unknown> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'websocket';
  /** Largest message (all its fragments) in bytes. */
  maxPayload = 1024 * 1024;

  override input(buf: Buffer, conn: Endpoint): number {
    const ws = stateOf(conn);
    if (ws.failed) throw new Error('bytes after a WebSocket protocol error');
    if (buf.length < 2) return 0;
    const b0 = buf[0] as number;
    const b1 = buf[1] as number;
    const opcode = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'RSV bits set without an extension');
    if ((b1 & 0x80) === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'client frame not masked');
    if (opcode >= 8) {
      if (opcode > 10) return this.violate(ws, CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
      if ((b0 & 0x80) === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'fragmented control frame');
      if ((b1 & 0x7f) > 125) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'control frame over 125 bytes');
    } else if (opcode === Opcode.CONTINUATION) {
      if (ws.fragmentOpcode === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'continuation frame without a message');
    } else if (opcode <= 2) {
      if (ws.fragmentOpcode !== 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'new message inside a fragmented one');
    } else {
      return this.violate(ws, CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
    }
    let len = b1 & 0x7f;
    let header = 6;
    if (len === 126) {
      if (buf.length < 4) return 0;
      len = buf.readUInt16BE(2);
      header = 8;
    } else if (len === 127) {
      if (buf.length < 10) return 0;
      const high = buf.readUInt32BE(2);
      if (high >= 0x80000000) return this.violate(ws, CloseCode.PROTOCOL_ERROR, '64-bit length with its top bit set');
      // Anything at or over 2^53 is far over any maxPayload: refuse before computing it.
      if (high >= 0x200000) return this.tooBig(ws, Number.MAX_SAFE_INTEGER);
      len = high * 0x100000000 + buf.readUInt32BE(6);
      header = 14;
    }
    if (opcode < 8 && ws.fragmentBytes + len > this.maxPayload) return this.tooBig(ws, ws.fragmentBytes + len);
    const total = header + len;
    if (this.maxPacketSize > 0 && total > this.maxPacketSize) return this.tooBig(ws, len);
    return total;
  }

  private tooBig(ws: WebSocketState, size: number): number {
    return this.violate(
      ws,
      CloseCode.MESSAGE_TOO_BIG,
      `message of ${size} bytes exceeds maxPayload ${this.maxPayload}`,
      WebSocketErrorCodes.MESSAGE_TOO_BIG,
    );
  }

  /** Refuse: a 1-byte packet whose decode() gives the violation to the handler, which closes. */
  private violate(ws: WebSocketState, code: number, reason: string, errorCode: string = WebSocketErrorCodes.PROTOCOL_ERROR): number {
    ws.violation = new ProtocolViolation(code, reason, errorCode);
    ws.failed = true;
    return 1;
  }

  override decode(packet: Buffer, conn: Endpoint): unknown {
    const ws = stateOf(conn);
    if (ws.violation !== undefined) {
      const v = ws.violation;
      ws.violation = undefined;
      return v;
    }
    ws.alive = true;
    const b0 = packet[0] as number;
    const len7 = (packet[1] as number) & 0x7f;
    const maskAt = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    const payload = packet.subarray(maskAt + 4);
    // The packet's memory is ours (never handed out before): unmask in place.
    unmask(payload, packet, maskAt);
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= 8) return this.control(ws, opcode, payload);
    if (!fin) {
      if (opcode !== Opcode.CONTINUATION) ws.fragmentOpcode = opcode;
      ws.fragments.push(payload);
      ws.fragmentBytes += payload.length;
      return PENDING;
    }
    let data = payload;
    let type = opcode;
    if (opcode === Opcode.CONTINUATION) {
      ws.fragments.push(payload);
      data = Buffer.concat(ws.fragments, ws.fragmentBytes + payload.length);
      type = ws.fragmentOpcode;
      ws.fragments = [];
      ws.fragmentBytes = 0;
      ws.fragmentOpcode = 0;
    }
    if (type === Opcode.BINARY) return data;
    if (!isUtf8(data)) return this.invalidUtf8(ws, 'text message is not valid UTF-8');
    return data.toString('utf8');
  }

  private control(ws: WebSocketState, opcode: number, payload: Buffer): ControlFrame | ProtocolViolation {
    if (opcode !== Opcode.CLOSE) return new ControlFrame(opcode, payload);
    if (payload.length === 0) return new ControlFrame(opcode, payload, CloseCode.NO_STATUS, '');
    if (payload.length === 1) return this.violation(ws, CloseCode.PROTOCOL_ERROR, 'close frame with a 1-byte payload');
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.violation(ws, CloseCode.PROTOCOL_ERROR, `invalid close code ${code}`);
    const reason = payload.subarray(2);
    if (!isUtf8(reason)) return this.invalidUtf8(ws, 'close reason is not valid UTF-8');
    return new ControlFrame(opcode, payload, code, reason.toString('utf8'));
  }

  private invalidUtf8(ws: WebSocketState, reason: string): ProtocolViolation {
    return this.violation(ws, CloseCode.INVALID_PAYLOAD, reason, WebSocketErrorCodes.INVALID_UTF8);
  }

  private violation(
    ws: WebSocketState,
    code: number,
    reason: string,
    errorCode: string = WebSocketErrorCodes.PROTOCOL_ERROR,
  ): ProtocolViolation {
    ws.failed = true;
    return new ProtocolViolation(code, reason, errorCode);
  }

  override encode(message: unknown, _conn: Endpoint): Encoded {
    if (typeof message === 'string') return encodeFrame(Opcode.TEXT, message);
    if (Buffer.isBuffer(message)) return encodeFrame(Opcode.BINARY, message);
    if (message instanceof WebSocketFrame) return encodeFrame(message.opcode, message.payload);
    if (message instanceof Uint8Array)
      return encodeFrame(Opcode.BINARY, Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    throw new TypeError(`a WebSocket connection sends strings, Buffers or WebSocketFrames, not ${typeof message}`);
  }
}

function stateOf(conn: Endpoint): WebSocketState {
  const s = conn.parserState;
  if (s instanceof WebSocketState) return s;
  const fresh = new WebSocketState('');
  conn.parserState = fresh;
  return fresh;
}
