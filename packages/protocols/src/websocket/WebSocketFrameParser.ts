import { isUtf8 } from 'node:buffer';
import { type Encoded, type Endpoint, Parser, type SendBuffer } from '@beyod/core';
import { latin1Slice } from '@beyod/core/internal';
import { InflateError } from './deflate';
import { WebSocketErrorCodes } from './errors';
import {
  CloseCode,
  ControlFrame,
  Opcode,
  PENDING,
  ProtocolViolation,
  RSV1,
  WebSocketFrame,
  encodeFrame,
  isValidCloseCode,
  unmaskRange,
} from './frame';
import { PacketKind, WebSocketState, webSocketStateOf } from './state';

/**
 * A frame at most this long (header and payload) is waited for and read as one packet; a
 * longer one is read as its header, then its payload in pieces as they arrive — so a frame
 * is never buffered whole by the connection, and its size is bounded by maxPayload alone.
 */
const WHOLE_FRAME = 64 * 1024;

/**
 * RFC 6455 framing alone: on a connection whose parserState is a WebSocketState (one is created
 * when there is none). Client frames must be masked (1002 otherwise); limits are checked from
 * each frame's header, before its payload is read: a message (all its fragments) over
 * `maxPayload` bytes → 1009, in more than `maxFragments` frames → 1008. Fragments are joined,
 * compressed messages (permessage-deflate) inflated — refused as soon as they inflate past
 * maxPayload — and text is checked to be UTF-8 (1007). Ping, pong and close frames are
 * decoded as ControlFrame; websocket.Handler answers them.
 *
 * websocket.Parser hands a connection to it after the handshake (the 101). Its
 * `maxPacketSize` (set from the listener's parser) is not a limit of WebSocket messages: it
 * only caps the pieces a long frame is read in, so the connection never refuses them.
 *
 * encode(): a string is sent as a text frame, a Buffer as a binary one, a WebSocketFrame as
 * given; with permessage-deflate, text and binary messages of `threshold` bytes or more are
 * compressed.
 */
export class WebSocketFrameParser extends Parser<unknown, unknown> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'websocket';
  /** Largest message (all its fragments; inflated size too when compressed) in bytes. */
  maxPayload = 1024 * 1024;
  /** Most frames one message may come in (0 = no limit). */
  maxFragments = 16 * 1024;

  constructor() {
    super();
    // the fast paths must not bypass a subclass's own input(), decode() or encode()
    const self = this as Parser<unknown, unknown>;
    if (this.input !== WebSocketFrameParser.prototype.input || this.decode !== WebSocketFrameParser.prototype.decode) {
      self.inputAt = undefined;
      self.decodeAt = undefined;
    }
    if (this.encode !== WebSocketFrameParser.prototype.encode) self.encodeTo = undefined;
  }

  override input(buf: Buffer, conn: Endpoint): number {
    return this.inputAt(buf, 0, buf.length, conn);
  }

  /** input() over buf[start, end): the connection calls it without making a view of its buffer. */
  override inputAt(buf: Buffer, start: number, end: number, conn: Endpoint): number {
    const ws = stateOf(conn);
    if (ws.failed) throw new Error('bytes after a WebSocket protocol error');
    const limit = this.maxPacketSize > 0 ? this.maxPacketSize : Number.MAX_SAFE_INTEGER;
    const have = end - start;
    if (ws.remaining > 0) {
      ws.packet = PacketKind.PIECE;
      return Math.min(ws.remaining, have, limit);
    }
    if (have < 2) return 0;
    const b0 = buf[start] as number;
    const b1 = buf[start + 1] as number;
    const opcode = b0 & 0x0f;
    const rsv = b0 & 0x70;
    if (rsv !== 0) {
      if (rsv !== RSV1 || ws.deflate === undefined) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'RSV bits set without an extension');
      if (opcode === Opcode.CONTINUATION || opcode >= 8)
        return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'RSV1 set on a frame that is not the first of a message');
    }
    if ((b1 & 0x80) === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'client frame not masked');
    if (opcode >= 8) {
      if (opcode > 10) return this.violate(ws, CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
      if ((b0 & 0x80) === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'fragmented control frame');
      if ((b1 & 0x7f) > 125) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'control frame over 125 bytes');
      ws.packet = PacketKind.FRAME;
      return 6 + (b1 & 0x7f);
    }
    if (opcode === Opcode.CONTINUATION) {
      if (ws.messageOpcode === 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'continuation frame without a message');
    } else if (opcode <= 2) {
      if (ws.messageOpcode !== 0) return this.violate(ws, CloseCode.PROTOCOL_ERROR, 'new message inside a fragmented one');
    } else {
      return this.violate(ws, CloseCode.PROTOCOL_ERROR, `reserved opcode ${opcode}`);
    }
    let len = b1 & 0x7f;
    let header = 6;
    if (len === 126) {
      if (have < 4) return 0;
      len = buf.readUInt16BE(start + 2);
      header = 8;
    } else if (len === 127) {
      if (have < 10) return 0;
      const high = buf.readUInt32BE(start + 2);
      if (high >= 0x80000000) return this.violate(ws, CloseCode.PROTOCOL_ERROR, '64-bit length with its top bit set');
      // 2^53 bytes or more is far over any maxPayload: refuse before computing it as a number.
      if (high >= 0x200000) return this.tooBig(ws, `frame of ${(BigInt(high) << 32n) + BigInt(buf.readUInt32BE(start + 6))} bytes`);
      len = high * 0x100000000 + buf.readUInt32BE(start + 6);
      header = 14;
    }
    if (this.maxFragments > 0 && ws.fragments >= this.maxFragments) {
      return this.violate(
        ws,
        CloseCode.POLICY_VIOLATION,
        `message in more than ${this.maxFragments} fragments (maxFragments)`,
        WebSocketErrorCodes.TOO_MANY_FRAGMENTS,
      );
    }
    if (ws.messageBytes + len > this.maxPayload) {
      return this.tooBig(
        ws,
        ws.fragments === 0 ? `frame of ${len} bytes` : `message of ${ws.messageBytes + len} bytes (${ws.fragments + 1} fragments)`,
      );
    }
    const whole = header + len;
    if (whole <= Math.min(WHOLE_FRAME, limit) || (whole <= have && whole <= limit)) {
      ws.packet = PacketKind.FRAME;
      return whole;
    }
    ws.packet = PacketKind.HEAD;
    return header;
  }

  private tooBig(ws: WebSocketState, what: string): number {
    return this.violate(
      ws,
      CloseCode.MESSAGE_TOO_BIG,
      `${what} exceeds maxPayload ${this.maxPayload}`,
      WebSocketErrorCodes.MESSAGE_TOO_BIG,
    );
  }

  /** Refuse: a 1-byte packet whose decode() gives the violation to the handler, which closes. */
  private violate(ws: WebSocketState, code: number, reason: string, errorCode: string = WebSocketErrorCodes.PROTOCOL_ERROR): number {
    ws.violation = new ProtocolViolation(code, reason, errorCode);
    ws.failed = true;
    ws.packet = PacketKind.FRAME;
    ws.message.clear();
    return 1;
  }

  override decode(packet: Buffer, conn: Endpoint): unknown {
    return this.decodeAt(packet, 0, packet.length, conn);
  }

  /**
   * decode() of buf[at, at + length): the connection calls it without making a view of its
   * buffer. The bytes are ours (never handed out before): payloads are unmasked in place.
   */
  override decodeAt(buf: Buffer, at: number, length: number, conn: Endpoint): unknown {
    const ws = stateOf(conn);
    if (ws.violation !== undefined) {
      const v = ws.violation;
      ws.violation = undefined;
      return v;
    }
    ws.alive = true;
    if (ws.packet === PacketKind.PIECE) return this.piece(ws, buf, at, length);
    const b0 = buf[at] as number;
    const len7 = (buf[at + 1] as number) & 0x7f;
    const maskAt = at + (len7 < 126 ? 2 : len7 === 126 ? 4 : 10);
    if (b0 === (0x80 | Opcode.TEXT) && ws.packet === PacketKind.FRAME && ws.messageOpcode === 0) {
      // The common frame: a whole text message (FIN, no RSV: not compressed) in one frame read
      // whole. Its bookkeeping (beginFrame, then resetMessage) would leave the state as it is.
      const start = maskAt + 4;
      const end = at + length;
      // Text in ASCII (most often) needs no UTF-8 check, and no view to check it in.
      if (unmaskRange(buf, start, end - start, buf, maskAt)) return latin1Slice(buf, start, end);
      beginFrame(ws, Opcode.TEXT, b0, end - start);
      return this.finish(ws, buf.subarray(start, end));
    }
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (ws.packet === PacketKind.HEAD) {
      const len =
        len7 < 126 ? len7 : len7 === 126 ? buf.readUInt16BE(at + 2) : buf.readUInt32BE(at + 2) * 0x100000000 + buf.readUInt32BE(at + 6);
      buf.copy((ws.mask ??= Buffer.allocUnsafe(4)), 0, maskAt, maskAt + 4);
      ws.maskAt = 0;
      ws.remaining = len;
      ws.frameFin = fin;
      beginFrame(ws, opcode, b0, len);
      return PENDING;
    }
    const start = maskAt + 4;
    const end = at + length;
    if (opcode >= 8) {
      unmaskRange(buf, start, end - start, buf, maskAt);
      return this.control(ws, opcode, buf.subarray(start, end));
    }
    const len = end - start;
    beginFrame(ws, opcode, b0, len);
    if (fin && ws.fragments === 1) {
      // A message in one frame, the common case: no copy.
      const ascii = unmaskRange(buf, start, len, buf, maskAt);
      // Text in ASCII (most often) needs no UTF-8 check, and no view to check it in.
      if (ascii && ws.messageOpcode === Opcode.TEXT && !ws.compressed) {
        resetMessage(ws);
        return latin1Slice(buf, start, end);
      }
      return this.finish(ws, buf.subarray(start, end));
    }
    buf.copy((ws.mask ??= Buffer.allocUnsafe(4)), 0, maskAt, start);
    ws.message.append(buf, start, len, ws.mask, 0);
    return fin ? this.finish(ws, ws.message.take()) : PENDING;
  }

  /** A piece of the payload of a long frame: buf[at, at + n). */
  private piece(ws: WebSocketState, buf: Buffer, at: number, n: number): unknown {
    ws.message.append(buf, at, n, ws.mask as Buffer, ws.maskAt);
    ws.maskAt += n;
    ws.remaining -= n;
    if (ws.remaining > 0 || !ws.frameFin) return PENDING;
    return this.finish(ws, ws.message.take());
  }

  /** The last frame of a message is in: inflate it if compressed, check text is UTF-8. */
  private finish(ws: WebSocketState, payload: Buffer): unknown {
    const type = ws.messageOpcode;
    const compressed = ws.compressed;
    resetMessage(ws);
    let data = payload;
    if (compressed) {
      try {
        data = (ws.deflate as NonNullable<WebSocketState['deflate']>).inflate(payload, this.maxPayload);
      } catch (e) {
        if (!(e instanceof InflateError)) throw e;
        return e.tooBig
          ? this.violation(ws, CloseCode.MESSAGE_TOO_BIG, e.message, WebSocketErrorCodes.MESSAGE_TOO_BIG)
          : this.violation(ws, CloseCode.INVALID_PAYLOAD, e.message, WebSocketErrorCodes.INVALID_COMPRESSED_DATA);
      }
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

  /**
   * encode() straight into the connection's send buffer: an uncompressed text or binary
   * message as a header and its payload, with no header Buffer or array of its own (the rest
   * as encode() makes it).
   */
  override encodeTo(message: unknown, out: SendBuffer, conn: Endpoint): void {
    const deflate = webSocketStateOf(conn)?.deflate;
    if (typeof message === 'string') {
      if (deflate === undefined || message.length * 3 < deflate.settings.threshold) {
        appendHeader(out, 0x80 | Opcode.TEXT, Buffer.byteLength(message));
        out.appendString(message);
        return;
      }
    } else if (Buffer.isBuffer(message) && (deflate === undefined || !deflate.compresses(message.length))) {
      appendHeader(out, 0x80 | Opcode.BINARY, message.length);
      out.appendBuffer(message);
      return;
    }
    const e = this.encode(message, conn);
    if (typeof e === 'string') out.appendString(e);
    else if (Buffer.isBuffer(e)) out.appendBuffer(e);
    else
      for (const part of e) {
        if (typeof part === 'string') out.appendString(part);
        else out.appendBuffer(part);
      }
  }

  override encode(message: unknown, conn: Endpoint): Encoded {
    const deflate = webSocketStateOf(conn)?.deflate;
    if (typeof message === 'string') {
      // A UTF-16 unit is at most 3 UTF-8 bytes: a string that short is under threshold as it is.
      if (deflate === undefined || message.length * 3 < deflate.settings.threshold) return encodeFrame(Opcode.TEXT, message);
      return encodeMessage(Opcode.TEXT, Buffer.from(message), deflate);
    }
    if (Buffer.isBuffer(message)) return encodeMessage(Opcode.BINARY, message, deflate);
    if (message instanceof WebSocketFrame) {
      const { opcode, payload } = message;
      if (deflate === undefined || (opcode !== Opcode.TEXT && opcode !== Opcode.BINARY)) return encodeFrame(opcode, payload);
      return encodeMessage(opcode, Buffer.from(payload), deflate);
    }
    if (message instanceof Uint8Array)
      return encodeMessage(Opcode.BINARY, Buffer.from(message.buffer, message.byteOffset, message.byteLength), deflate);
    throw new TypeError(`a WebSocket connection sends strings, Buffers or WebSocketFrames, not ${typeof message}`);
  }
}

/** A frame header (unmasked, server to client) appended to `out`: first byte `b0`, payload of `n` bytes. */
function appendHeader(out: SendBuffer, b0: number, n: number): void {
  if (n < 126) out.appendUInt16BE((b0 << 8) | n);
  else if (n < 0x10000) {
    out.appendUInt16BE((b0 << 8) | 126);
    out.appendUInt16BE(n);
  } else {
    out.appendUInt16BE((b0 << 8) | 127);
    out.appendUInt32BE(Math.floor(n / 0x100000000));
    out.appendUInt32BE(n >>> 0);
  }
}

/** A text or binary message as one frame, compressed when permessage-deflate says so. */
export function encodeMessage(opcode: number, data: Buffer, deflate: WebSocketState['deflate']): Encoded {
  if (deflate === undefined || !deflate.compresses(data.length)) return encodeFrame(opcode, data);
  return encodeFrame(opcode, deflate.deflate(data), true, RSV1);
}

/** The message is complete: the next data frame begins another. */
function resetMessage(ws: WebSocketState): void {
  ws.messageOpcode = 0;
  ws.compressed = false;
  ws.fragments = 0;
  ws.messageBytes = 0;
}

/** Count a data frame into its message (the first one says the message's type and compression). */
function beginFrame(ws: WebSocketState, opcode: number, b0: number, len: number): void {
  ws.fragments++;
  ws.messageBytes += len;
  if (opcode !== Opcode.CONTINUATION) {
    ws.messageOpcode = opcode;
    ws.compressed = (b0 & RSV1) !== 0;
  }
}

function stateOf(conn: Endpoint): WebSocketState {
  const s = conn.parserState;
  if (s instanceof WebSocketState) return s;
  const fresh = new WebSocketState('');
  conn.parserState = fresh;
  return fresh;
}
