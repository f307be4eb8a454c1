import { BeyodError, type Encoded, type Endpoint, ErrorCodes, Parser as BaseParser, type SendBuffer } from '@beyod/core';
import { BadBody, type Request, scanRequest } from './Request';

const HEADER_SIZE = 4;

/** A decoded packet: a JSON object (its fields are checked by whoever reads it). */
export type Packet = Record<string, unknown>;

/**
 * What the dispatcher sends: a Buffer that already holds a whole frame (a delivery, encoded
 * once for all its subscribers), a JSON text (framed here), or an object (serialized here).
 */
export type Outgoing = Buffer | string | Packet;

function frameLength(buffer: Buffer, start: number, end: number): number {
  if (end - start < HEADER_SIZE) return 0;
  const n = buffer.readUInt32BE(start);
  if (n < HEADER_SIZE) {
    throw new BeyodError(ErrorCodes.BAD_PACKET, `frame length ${n} is shorter than its own ${HEADER_SIZE}-byte header`, { length: n });
  }
  return n;
}

/**
 * The dispatcher server's framing and codec (use it as the listener's parser with the
 * dispatcher Handler): a 4-byte unsigned big-endian length of the whole packet (header
 * included), then a UTF-8 JSON object.
 *
 * A request is checked (JSON grammar, UTF-8, nesting depth) and read into a Request without
 * building objects: the server decodes only the fields a command needs. A body that is not a
 * JSON object decodes to a BadBody (answered with 760; the connection goes on).
 */
export class Parser extends BaseParser<Request | BadBody, Outgoing> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'dispatcher';
  /**
   * How deep a member of a request may nest (`[[1]]` is 2 levels); deeper is refused with 760.
   * 0 = no limit. Default 64.
   */
  maxDepth = 64;

  override inputAt(buffer: Buffer, start: number, end: number, _connection: Endpoint): number {
    return frameLength(buffer, start, end);
  }

  override decodeAt(buffer: Buffer, start: number, length: number, _connection: Endpoint): Request | BadBody {
    return scanRequest(buffer, start + HEADER_SIZE, start + length, this.maxDepth);
  }

  override input(buffer: Buffer, _connection: Endpoint): number {
    return frameLength(buffer, 0, buffer.length);
  }

  override decode(packet: Buffer, _connection: Endpoint): Request | BadBody {
    return scanRequest(packet, HEADER_SIZE, packet.length, this.maxDepth);
  }

  override encodeTo(message: Outgoing, out: SendBuffer, _connection: Endpoint): void {
    if (Buffer.isBuffer(message)) {
      out.appendBuffer(message);
      return;
    }
    out.appendLengthAndString(typeof message === 'string' ? message : JSON.stringify(message), HEADER_SIZE);
  }

  override encode(message: Outgoing, _connection: Endpoint): Encoded {
    if (Buffer.isBuffer(message)) return message;
    return encodeJson(typeof message === 'string' ? message : JSON.stringify(message));
  }
}

/**
 * The same framing with plain JSON objects both ways (JSON.parse / JSON.stringify): the
 * Client's codec, and one for tools that speak to a dispatcher.
 */
export class PacketParser extends BaseParser<Packet | BadBody, Packet | Buffer> {
  override inputAt(buffer: Buffer, start: number, end: number, _connection: Endpoint): number {
    return frameLength(buffer, start, end);
  }

  override decodeAt(buffer: Buffer, start: number, length: number, _connection: Endpoint): Packet | BadBody {
    return parseBody(buffer.toString('utf8', start + HEADER_SIZE, start + length));
  }

  override input(buffer: Buffer, _connection: Endpoint): number {
    return frameLength(buffer, 0, buffer.length);
  }

  override decode(packet: Buffer, _connection: Endpoint): Packet | BadBody {
    return decodeBody(packet);
  }

  override encode(message: Packet | Buffer, _connection: Endpoint): Encoded {
    return Buffer.isBuffer(message) ? message : encodePacket(message);
  }
}

/** Parse the JSON body of a whole frame (header included) into an object. */
export function decodeBody(packet: Buffer): Packet | BadBody {
  return parseBody(packet.toString('utf8', HEADER_SIZE));
}

function parseBody(text: string): Packet | BadBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return new BadBody(`the body is not JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new BadBody(`the body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Packet;
}

/** One whole frame (header + JSON) in one Buffer. */
export function encodePacket(packet: unknown): Buffer {
  return encodeJson(JSON.stringify(packet));
}

/** Frame an already serialized JSON text. */
export function encodeJson(json: string): Buffer {
  const n = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + n);
  buf.writeUInt32BE(HEADER_SIZE + n, 0);
  buf.write(json, HEADER_SIZE);
  return buf;
}

export { BadBody };
