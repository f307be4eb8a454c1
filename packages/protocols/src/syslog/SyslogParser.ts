import { BeyodError, type Encoded, type Endpoint, Parser } from '@beyod/core';
import { SyslogErrorCodes } from './errors';
import { type SyslogInput, type SyslogMessage, formatSyslog, parseSyslog } from './message';

const LF = 10;
const CR = 13;
const NUL = 0;
const SP = 32;

/** TCP framing of a connection (RFC 6587): not yet known, "LEN SP MSG", or MSG LF. */
const Framing = { Unknown: 0, OctetCounting: 1, NonTransparent: 2 } as const;
type Framing = (typeof Framing)[keyof typeof Framing];

/** Per-connection state (TCP). */
interface State {
  framing: Framing;
  /** Newline framing: how far the current frame was searched for its LF already. */
  scan: number;
}

/**
 * Syslog receiver framing and decoding, for udp:// and tcp:// (or tls://, unix://) listeners.
 *
 * UDP: one datagram is one message. TCP: RFC 6587 octet counting ("LEN SP MSG") or
 * non-transparent framing (a message per line), decided per connection by the first byte the
 * peer sends (a digit: octet counting; anything else: lines) unless `framing` forces one. Blank
 * lines and stray line ends between frames are ignored.
 *
 * The message is parsed as RFC 5424 or RFC 3164; one that does not parse is still delivered,
 * with `error` saying what is wrong (the connection carries on). Only broken octet-counting
 * framing (a length that is not a number) is a bad packet, since the stream cannot be followed
 * after it.
 */
export class SyslogParser extends Parser<SyslogMessage, SyslogInput | string> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'syslog';
  /** Longest message accepted, framing included (bytes). RFC 5425 asks receivers for at least 2 KiB. */
  override maxPacketSize = 64 * 1024;
  /** TCP framing: detected per connection ('auto'), or forced. Also how encode() frames on streams. */
  framing: 'auto' | 'octet-counting' | 'non-transparent' = 'auto';

  override input(buf: Buffer, connection: Endpoint): number {
    if (connection.transport === 'udp') return buf.length;
    let st = connection.parserState as State | undefined;
    if (st === undefined) {
      st = { framing: Framing.Unknown, scan: 0 };
      connection.parserState = st;
    }
    // Whitespace between frames belongs to the next frame (decode() drops it).
    const start = st.scan === 0 ? skipBlank(buf, 0) : 0;
    if (start === buf.length) return 0;
    if (st.framing === Framing.Unknown) {
      st.framing =
        this.framing === 'octet-counting'
          ? Framing.OctetCounting
          : this.framing === 'non-transparent'
            ? Framing.NonTransparent
            : isDigit(buf[start]!)
              ? Framing.OctetCounting
              : Framing.NonTransparent;
    }
    if (st.framing === Framing.NonTransparent) {
      const i = buf.indexOf(LF, st.scan > start ? st.scan : start);
      if (i < 0) {
        st.scan = buf.length;
        return 0;
      }
      st.scan = 0;
      return i + 1;
    }
    let len = 0;
    for (let i = start; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === SP && i > start) return i + 1 + len;
      if (!isDigit(c) || (i === start && c === 0x30) || i - start >= 10) {
        throw new BeyodError(
          SyslogErrorCodes.FRAMING,
          `syslog octet-counting frame from ${connection.peer} does not start with a length (${JSON.stringify(buf.toString('latin1', start, Math.min(buf.length, start + 16)))})`,
          { peer: connection.peer },
        );
      }
      len = len * 10 + (c - 0x30);
    }
    return 0;
  }

  override decode(packet: Buffer, connection: Endpoint): SyslogMessage {
    let start = 0;
    let end = packet.length;
    if (connection.transport !== 'udp') {
      start = skipBlank(packet, 0);
      if ((connection.parserState as State | undefined)?.framing === Framing.OctetCounting) start = packet.indexOf(SP, start) + 1;
    }
    while (end > start && (packet[end - 1] === LF || packet[end - 1] === CR || packet[end - 1] === NUL)) end--;
    return parseSyslog(packet.toString('utf8', start, end));
  }

  /** A message object is sent as RFC 5424, a string as it is; framed for the connection's transport. */
  override encode(message: SyslogInput | string, connection: Endpoint): Encoded {
    const line = typeof message === 'string' ? message : formatSyslog(message);
    if (connection.transport === 'udp') return line;
    const st = connection.parserState as State | undefined;
    const octets = st?.framing === Framing.OctetCounting || (st?.framing !== Framing.NonTransparent && this.framing === 'octet-counting');
    return octets ? `${Buffer.byteLength(line)} ${line}` : `${line}\n`;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function skipBlank(buf: Buffer, i: number): number {
  while (i < buf.length && (buf[i] === LF || buf[i] === CR || buf[i] === NUL)) i++;
  return i;
}
