import { type Endpoint, Parser } from '@beyod/core';

const LF = 10;
const CR = 13;

/**
 * Newline-delimited text: one message per line, `\n` ends a line and a `\r` before it is
 * dropped. maxPacketSize is the line-length limit (bytes, newline included; default 1 MiB).
 * The scan position is kept per connection, so a long line arriving in many chunks is scanned
 * once, not once per chunk.
 */
export class TextParser extends Parser<string, string> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'text';
  override maxPacketSize = 1024 * 1024;

  override input(buffer: Buffer, connection: Endpoint): number {
    const from = typeof connection.parserState === 'number' ? connection.parserState : 0;
    const i = buffer.indexOf(LF, from);
    if (i < 0) {
      connection.parserState = buffer.length;
      return 0;
    }
    connection.parserState = 0;
    return i + 1;
  }

  override decode(packet: Buffer, _connection: Endpoint): string {
    let end = packet.length - 1; // the \n
    if (end > 0 && packet[end - 1] === CR) end--;
    return packet.toString('utf8', 0, end);
  }

  override encode(message: string, _connection: Endpoint): string {
    return `${message}\n`;
  }
}
