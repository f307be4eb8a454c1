import type { Endpoint } from './events';
import type { SendBuffer } from './SendBuffer';

/**
 * What a connection does when its send buffer is over `maxSendBuffer` (see Parser.sendPolicy):
 * - 'pause': nothing is ever dropped; the connection stops reading (and parsing) input until
 *   the buffer drains — for byte streams and request/response protocols (HTTP, RESP, lines);
 * - 'drop': sends made while the buffer is over the limit are dropped and counted — only for
 *   protocols whose messages are independent of each other (a lost one shifts nothing).
 */
export type SendPolicy = 'pause' | 'drop';

/** What encode() may return: one buffer or string, or several written back to back. */
export type Encoded = Buffer | string | ReadonlyArray<Buffer | string>;

/**
 * Framing and codec of a listener or client (Workerman's ProtocolInterface).
 *
 * - `input(buffer, connection)` looks at the bytes received so far, from the start of the next
 *   packet (a contiguous view that may not hold all of them yet: when it returns 0 and more
 *   bytes are waiting, it is called again with a longer view) and returns
 *   0 — not enough bytes to know the packet's length yet;
 *   n > 0 — the packet at the head of the buffer is n bytes long. It may return n as soon as
 *   the length is known (e.g. from a header), before all n bytes arrived: the connection then
 *   waits for them without calling input() again;
 *   < 0, or throws — the bytes are not a valid packet: onBadPacket, and that connection closes.
 * - `decode(packet, connection)` turns the n bytes into the message given to onMessage.
 * - `encode(message, connection)` turns what `send()` was given into bytes.
 *
 * `maxPacketSize` (bytes, 0 = no limit) is enforced by the connection: a length over it is
 * refused as soon as input() reports it, and a buffer that reaches it without a packet
 * boundary is refused too — nothing past the limit is ever buffered. Nothing is allocated on a
 * length's word either: the packet's buffer is made once all its bytes are here.
 *
 * A parser instance is shared by all connections of a listener; per-connection state goes in
 * `connection.parserState`. This base class frames nothing: every read is one packet.
 */
export class Parser<In = Buffer, Out = Buffer | string> {
  maxPacketSize = 8 * 1024 * 1024;
  /**
   * The protocol's send policy (see SendPolicy). 'pause' by default: a framing cannot know
   * whether the application's messages are independent (answers matched to requests are
   * not), and a dropped write in a stream corrupts everything after it. A protocol of
   * independent messages may declare 'drop'; a listener may set it in the parser's config.
   */
  sendPolicy: SendPolicy = 'pause';

  /**
   * The protocol's name, as `beyod connections` shows it (`tcp/http`, `tls/websocket`);
   * without one, the class name is shown.
   */
  declare readonly protocol?: string;
  /**
   * Optional: the protocol of one connection, when it is not the same for all of them (an
   * HTTP connection switched to WebSocket reports `websocket`).
   */
  protocolOf?(connection: Endpoint): string;

  /**
   * Optional fast path for hot parsers: input() over `buffer[start, end)` and decode() of
   * `buffer[start, start + length)`, without making a Buffer view per packet (views are a
   * measurable share of a small message's cost). When a parser has both, the connection uses
   * them instead of input() and decode(); they must behave exactly the same. A parser that
   * offers them should drop them (set them to undefined) when a subclass overrides input()
   * or decode() — see frame/FrameParser.
   */
  inputAt?(buffer: Buffer, start: number, end: number, connection: Endpoint): number;
  decodeAt?(buffer: Buffer, start: number, length: number, connection: Endpoint): In;
  /** Optional fast path for encode(): append the encoded message to `out` (no Buffer of its own). */
  encodeTo?(message: Out, out: SendBuffer, connection: Endpoint): void;

  /**
   * Optional: the connection's deadline passed (see Endpoint.setDeadline). When a parser has
   * this method it owns its connections' deadlines: the handler's onDeadline is not called.
   */
  onDeadline?(connection: Endpoint, kind: number): void;

  input(buffer: Buffer, _connection: Endpoint): number {
    return buffer.length;
  }

  decode(packet: Buffer, _connection: Endpoint): In {
    return packet as unknown as In;
  }

  encode(message: Out, _connection: Endpoint): Encoded {
    return message as unknown as Encoded;
  }
}
