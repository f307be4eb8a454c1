import { BeyodError, type Endpoint, ErrorCodes, Parser, type SendBuffer } from '@beyod/core';

/** Bytes in the length header. */
export const HEADER_SIZE = 4;

/**
 * Length-prefixed frames: a 4-byte unsigned big-endian integer holding the length of the WHOLE
 * packet (those 4 bytes included), then the payload. The dispatcher's framing.
 *
 * input() answers as soon as the 4 header bytes are in — never before (the PHP original took a
 * partial header as a packet) — so an announced length over maxPacketSize is refused before
 * anything more is buffered.
 */
export class FrameParser extends Parser<Buffer | string, Buffer | string> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'frame';
  /** What decode() returns: the payload as a Buffer, or decoded as UTF-8 text. */
  encoding: 'buffer' | 'utf8' = 'buffer';

  constructor() {
    super();
    // the fast path must not bypass a subclass's own input() or decode()
    const self = this as Parser<Buffer | string, Buffer | string>;
    if (this.input !== FrameParser.prototype.input || this.decode !== FrameParser.prototype.decode) {
      self.inputAt = undefined;
      self.decodeAt = undefined;
    }
    if (this.encode !== FrameParser.prototype.encode) self.encodeTo = undefined;
  }

  override inputAt(buffer: Buffer, start: number, end: number, _connection: Endpoint): number {
    if (end - start < HEADER_SIZE) return 0;
    const n = buffer.readUInt32BE(start);
    if (n < HEADER_SIZE) {
      throw new BeyodError(ErrorCodes.BAD_PACKET, `frame length ${n} is shorter than its own ${HEADER_SIZE}-byte header`, { length: n });
    }
    return n;
  }

  override decodeAt(buffer: Buffer, start: number, length: number, _connection: Endpoint): Buffer | string {
    return this.encoding === 'utf8'
      ? buffer.toString('utf8', start + HEADER_SIZE, start + length)
      : buffer.subarray(start + HEADER_SIZE, start + length);
  }

  override input(buffer: Buffer, _connection: Endpoint): number {
    if (buffer.length < HEADER_SIZE) return 0;
    const n = buffer.readUInt32BE(0);
    if (n < HEADER_SIZE) {
      throw new BeyodError(ErrorCodes.BAD_PACKET, `frame length ${n} is shorter than its own ${HEADER_SIZE}-byte header`, { length: n });
    }
    return n;
  }

  override decode(packet: Buffer, _connection: Endpoint): Buffer | string {
    const payload = packet.subarray(HEADER_SIZE);
    return this.encoding === 'utf8' ? payload.toString('utf8') : payload;
  }

  override encodeTo(message: Buffer | string, out: SendBuffer, _connection: Endpoint): void {
    if (typeof message === 'string') {
      out.appendUInt32BE(Buffer.byteLength(message, 'utf8') + HEADER_SIZE);
      out.appendString(message);
    } else {
      out.appendUInt32BE(message.length + HEADER_SIZE);
      out.appendBuffer(message);
    }
  }

  override encode(message: Buffer | string, _connection: Endpoint): [Buffer, Buffer] {
    const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    return [frameHeader(body.length), body];
  }
}

/** The 4-byte header of a frame whose payload is `payloadLength` bytes. */
export function frameHeader(payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  header.writeUInt32BE(payloadLength + HEADER_SIZE, 0);
  return header;
}

/** One whole frame in one Buffer (for tests, tools and clients that want a single write). */
export function encodeFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(body.length), body]);
}
