import { type Encoded, type Endpoint, Parser as BaseParser } from '@beyod/core';
import { frame } from '@beyod/protocols';

// Read once: the namespace re-export compiles to a getter, and decode() is the hot path.
const HEADER_SIZE = frame.HEADER_SIZE;

/** A decoded packet: a JSON object (its fields are checked by whoever reads it). */
export type Packet = Record<string, unknown>;

/**
 * A frame whose body is not a JSON object. The framing is intact, so the connection can go on:
 * the dispatcher answers it with error 760 instead of closing.
 */
export class BadBody {
  constructor(readonly reason: string) {}
}

/**
 * The dispatcher's framing and codec, used by the server (as a listener's parser) and by the
 * Client: a 4-byte unsigned big-endian length of the whole packet (header included), then a
 * UTF-8 JSON object.
 *
 * `encode()` takes an object (serialized here) or a Buffer that already holds a whole frame
 * (see encodePacket(): a message published to many subscribers is encoded once).
 */
export class Parser extends BaseParser<Packet | BadBody, Packet | Buffer> {
  private readonly framing = new frame.FrameParser();

  override input(buffer: Buffer, connection: Endpoint): number {
    return this.framing.input(buffer, connection);
  }

  override decode(packet: Buffer, _connection: Endpoint): Packet | BadBody {
    return decodeBody(packet);
  }

  override encode(message: Packet | Buffer, _connection: Endpoint): Encoded {
    return Buffer.isBuffer(message) ? message : encodePacket(message);
  }
}

/** Parse the JSON body of a whole frame (header included). */
export function decodeBody(packet: Buffer): Packet | BadBody {
  let value: unknown;
  try {
    value = JSON.parse(packet.toString('utf8', HEADER_SIZE));
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
