import { BeyodError, type Encoded, type Endpoint, Parser, type SendPolicy } from '@beyod/core';
import { RedisErrorCodes } from './errors';
import { type RedisArg, RedisReplyError, RespPush, type RespValue } from './types';

// Type bytes (RESP2 and RESP3).
const BULK = 0x24; // $
const BLOB_ERROR = 0x21; // !
const VERBATIM = 0x3d; // =
const SIMPLE = 0x2b; // +
const ERROR = 0x2d; // -
const INTEGER = 0x3a; // :
const NULL = 0x5f; // _
const DOUBLE = 0x2c; // ,
const BOOLEAN = 0x23; // #
const BIG_NUMBER = 0x28; // (
const ARRAY = 0x2a; // *
const MAP = 0x25; // %
const SET = 0x7e; // ~
const PUSH = 0x3e; // >
const ATTRIBUTE = 0x7c; // |
const CR = 13;
const LF = 10;
const MINUS = 0x2d;

// What follows a type byte: a length and a body, a line, or a count of elements.
const LENGTH = 1;
const LINE = 2;
const AGGREGATE = 3;
const CLASS = new Uint8Array(256);
for (const t of [BULK, BLOB_ERROR, VERBATIM]) CLASS[t] = LENGTH;
for (const t of [SIMPLE, ERROR, INTEGER, NULL, DOUBLE, BOOLEAN, BIG_NUMBER]) CLASS[t] = LINE;
for (const t of [ARRAY, MAP, SET, PUSH, ATTRIBUTE]) CLASS[t] = AGGREGATE;

/** An aggregate whose elements are still arriving. */
interface Frame {
  type: number;
  remaining: number;
  items: RespValue[];
}

/**
 * Per-connection scan state, kept in `connection.parserState`. Aggregates are parsed while
 * input() scans them (their length is only known at the end), resuming at `pos` on the next
 * chunk, so a reply split over many reads is looked at once; decode() then hands out the value.
 */
class ScanState {
  /** An aggregate is being scanned; `pos` is where to resume. */
  active = false;
  pos = 0;
  /** How far a line without its CR has been searched already. */
  linePos = 0;
  readonly stack: Frame[] = [];
  /** input() finished an aggregate; decode() returns `value`. */
  done = false;
  value: RespValue = null;
}

/** Set by readLength(): index after the header's CRLF, or -1 while the header is incomplete. */
let nextPos = 0;

/**
 * RESP2 and RESP3 (Redis serialization protocol). Replies are decoded to RespValue; encode()
 * turns a command (an array of arguments) into a RESP array of bulk strings.
 *
 * A bulk string at the top level reports its full length as soon as its header is read, so a
 * big reply is gathered by the connection in one contiguous buffer with no rescanning. An
 * aggregate (array, map, set, push) is scanned element by element, resuming where the last
 * chunk ended. Protocol violations throw BEYOD_REDIS_PROTOCOL (the connection is closed).
 *
 * The parser also reads commands (arrays of bulk strings), so it can frame a Redis-speaking
 * server's input too.
 */
export class RespParser extends Parser<RespValue, ReadonlyArray<RedisArg>> {
  /** Its name in `beyod connections`. */
  override readonly protocol: string = 'resp';
  /** Redis's own proto-max-bulk-len is 512 MiB; a reply may be a little over one bulk string. */
  override maxPacketSize = 512 * 1024 * 1024 + 1024;
  /** Decode bulk strings as Buffers (views, not copies) instead of UTF-8 strings. */
  returnBuffers = false;
  /**
   * A stream: replies are matched to commands by position, so one dropped write would shift
   * every later reply onto the wrong command. Sends are never dropped (a server stops reading
   * while its replies back up; a client keeps reading and queues).
   */
  override sendPolicy: SendPolicy = 'pause';

  override input(buf: Buffer, connection: Endpoint): number {
    let st = connection.parserState as ScanState | undefined;
    if (st !== undefined && st.active) return this.scan(buf, st);
    const t = buf[0]!;
    switch (CLASS[t]) {
      case LENGTH: {
        const n = readLength(buf, 1);
        if (nextPos < 0) return 0;
        if (n < 0) return checkNull(t, n);
        return nextPos + n + 2;
      }
      case LINE: {
        const cr = buf.indexOf(CR, st !== undefined && st.linePos > 0 ? st.linePos : 1);
        if (cr < 0 || cr + 1 >= buf.length) {
          (st ?? newState(connection)).linePos = cr < 0 ? buf.length : cr;
          return 0;
        }
        if (st !== undefined) st.linePos = 0;
        if (buf[cr + 1] !== LF) throw protocolError('CR not followed by LF');
        return cr + 2;
      }
      case AGGREGATE:
        st ??= newState(connection);
        st.active = true;
        st.pos = 0;
        return this.scan(buf, st);
      default:
        throw protocolError(`unexpected byte 0x${t.toString(16).padStart(2, '0')} where a reply starts`);
    }
  }

  override decode(packet: Buffer, connection: Endpoint): RespValue {
    const st = connection.parserState as ScanState | undefined;
    if (st !== undefined && st.done) {
      const v = st.value;
      st.value = null;
      st.done = false;
      return v;
    }
    const t = packet[0]!;
    const end = packet.length - 2;
    if (CLASS[t] === LENGTH) {
      const n = readLength(packet, 1);
      if (n < 0) return null;
      if (packet[end] !== CR || packet[end + 1] !== LF) throw protocolError('bulk string not followed by CRLF');
      return this.bulkValue(t, packet, nextPos, end);
    }
    return this.lineValue(t, packet, 1, end);
  }

  override encode(command: ReadonlyArray<RedisArg>, _connection: Endpoint): Encoded {
    return encodeCommand(command);
  }

  /** Scan an aggregate from `st.pos`; the whole reply's length once complete, else 0. */
  private scan(buf: Buffer, st: ScanState): number {
    const stack = st.stack;
    const len = buf.length;
    let pos = st.pos;
    outer: while (pos < len) {
      const t = buf[pos]!;
      let value: RespValue;
      switch (CLASS[t]) {
        case LENGTH: {
          const n = readLength(buf, pos + 1);
          if (nextPos < 0) break outer;
          if (n < 0) {
            checkNull(t, n);
            value = null;
            pos = nextPos;
            break;
          }
          const end = nextPos + n;
          if (end + 2 > len) break outer;
          if (buf[end] !== CR || buf[end + 1] !== LF) throw protocolError('bulk string not followed by CRLF');
          value = this.bulkValue(t, buf, nextPos, end);
          pos = end + 2;
          break;
        }
        case LINE: {
          const cr = buf.indexOf(CR, st.linePos > pos ? st.linePos : pos + 1);
          if (cr < 0 || cr + 1 >= len) {
            st.linePos = cr < 0 ? len : cr;
            break outer;
          }
          st.linePos = 0;
          if (buf[cr + 1] !== LF) throw protocolError('CR not followed by LF');
          value = this.lineValue(t, buf, pos + 1, cr);
          pos = cr + 2;
          break;
        }
        case AGGREGATE: {
          const n = readLength(buf, pos + 1);
          if (nextPos < 0) break outer;
          pos = nextPos;
          if (n < 0) {
            if (n !== -1 || t !== ARRAY) throw protocolError(`invalid aggregate length ${n}`);
            value = null;
          } else if (n === 0) {
            if (t === ATTRIBUTE) continue;
            value = finish({ type: t, remaining: 0, items: [] });
          } else {
            stack.push({ type: t, remaining: t === MAP || t === ATTRIBUTE ? n * 2 : n, items: [] });
            continue;
          }
          break;
        }
        default:
          throw protocolError(`unexpected type byte 0x${t.toString(16).padStart(2, '0')} inside an aggregate`);
      }
      // Fold the finished value into the aggregates it completes.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          st.active = false;
          st.pos = 0;
          st.done = true;
          st.value = value;
          return pos;
        }
        top.items.push(value);
        if (--top.remaining > 0) break;
        stack.pop();
        // Attributes annotate the value that follows them; they are parsed and dropped.
        if (top.type === ATTRIBUTE) continue outer;
        value = finish(top);
      }
    }
    st.pos = pos;
    return 0;
  }

  private bulkValue(t: number, buf: Buffer, start: number, end: number): RespValue {
    if (t === BULK) return this.returnBuffers ? buf.subarray(start, end) : buf.toString('utf8', start, end);
    if (t === BLOB_ERROR) return new RedisReplyError(buf.toString('utf8', start, end));
    // Verbatim string: a 3-letter format ("txt", "mkd") and ':' precede the text.
    if (end - start < 4 || buf[start + 3] !== 0x3a) throw protocolError('verbatim string without its format prefix');
    return this.returnBuffers ? buf.subarray(start + 4, end) : buf.toString('utf8', start + 4, end);
  }

  private lineValue(t: number, buf: Buffer, start: number, end: number): RespValue {
    switch (t) {
      case SIMPLE:
        // "+OK" is most of what a write-heavy client reads.
        if (end - start === 2 && buf[start] === 0x4f && buf[start + 1] === 0x4b) return 'OK';
        return buf.toString('utf8', start, end);
      case ERROR:
        return new RedisReplyError(buf.toString('utf8', start, end));
      case INTEGER:
        return parseInteger(buf, start, end);
      case NULL:
        if (end !== start) throw protocolError('null with a payload');
        return null;
      case DOUBLE:
        return parseDouble(buf.toString('latin1', start, end));
      case BOOLEAN:
        if (end - start === 1 && buf[start] === 0x74) return true;
        if (end - start === 1 && buf[start] === 0x66) return false;
        throw protocolError('boolean other than #t or #f');
      case BIG_NUMBER: {
        const s = buf.toString('latin1', start, end);
        if (!/^-?\d+$/.test(s)) throw protocolError(`big number ${JSON.stringify(s.slice(0, 40))}`);
        return BigInt(s);
      }
      default:
        throw protocolError(`unexpected byte 0x${t.toString(16).padStart(2, '0')} where a reply starts`);
    }
  }
}

function newState(connection: Endpoint): ScanState {
  const st = new ScanState();
  connection.parserState = st;
  return st;
}

function finish(f: Frame): RespValue {
  switch (f.type) {
    case MAP: {
      const m = new Map<RespValue, RespValue>();
      for (let i = 0; i < f.items.length; i += 2) m.set(f.items[i]!, f.items[i + 1]!);
      return m;
    }
    case SET:
      return new Set(f.items);
    case PUSH:
      return new RespPush(f.items);
    default:
      return f.items;
  }
}

/** A negative length: only -1, and only for bulk strings ($-1, RESP2's null). Returns the header's length. */
function checkNull(t: number, n: number): number {
  if (n !== -1 || t !== BULK) throw protocolError(`invalid length ${n}`);
  return nextPos;
}

/**
 * Read a decimal length ending in CRLF at `from`; sets nextPos (-1: incomplete). Headers are
 * short, so a long run of digits is refused instead of buffered.
 */
function readLength(buf: Buffer, from: number): number {
  const len = buf.length;
  let i = from;
  let neg = false;
  if (i < len && buf[i] === MINUS) {
    neg = true;
    i++;
  }
  let n = 0;
  let digits = 0;
  while (i < len) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      if (++digits > 15) throw protocolError('length header over 15 digits');
      n = n * 10 + (c - 0x30);
      i++;
      continue;
    }
    if (c !== CR || digits === 0) throw protocolError('malformed length header');
    if (i + 1 >= len) break;
    if (buf[i + 1] !== LF) throw protocolError('CR not followed by LF');
    nextPos = i + 2;
    return neg ? -n : n;
  }
  nextPos = -1;
  return 0;
}

/** A RESP integer; past 2^53 it comes back as a bigint rather than a rounded number. */
function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
  let i = start;
  const neg = buf[i] === MINUS;
  if (neg) i++;
  if (i === end) throw protocolError('integer without digits');
  if (end - i > 15) {
    const s = buf.toString('latin1', start, end);
    if (!/^-?\d+$/.test(s)) throw protocolError(`malformed integer ${JSON.stringify(s.slice(0, 40))}`);
    const b = BigInt(s);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) throw protocolError('malformed integer');
    n = n * 10 + (c - 0x30);
  }
  return neg ? -n : n;
}

function parseDouble(s: string): number {
  switch (s) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
  }
  const n = s.trim() === s && s !== '' ? Number(s) : NaN;
  if (Number.isNaN(n)) throw protocolError(`malformed double ${JSON.stringify(s.slice(0, 40))}`);
  return n;
}

function protocolError(what: string): BeyodError {
  return new BeyodError(RedisErrorCodes.PROTOCOL, `invalid RESP from the server: ${what}`);
}

/**
 * A command as RESP: an array of bulk strings. One string when every argument is text or a
 * number; string parts around Buffer arguments otherwise (written back to back, not joined).
 */
export function encodeCommand(args: ReadonlyArray<RedisArg>): string | Array<string | Buffer> {
  let out = `*${args.length}\r\n`;
  let parts: Array<string | Buffer> | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'string') {
      out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    } else if (typeof a === 'number') {
      const s = numberArg(a);
      out += `$${s.length}\r\n${s}\r\n`;
    } else if (Buffer.isBuffer(a)) {
      (parts ??= []).push(`${out}$${a.length}\r\n`, a);
      out = '\r\n';
    } else {
      throw new BeyodError(
        RedisErrorCodes.BAD_ARGUMENT,
        `redis command ${String(args[0])}: argument ${i} is ${a === null ? 'null' : typeof a}; expected a string, number or Buffer`,
        { index: i },
      );
    }
  }
  if (parts === undefined) return out;
  parts.push(out);
  return parts;
}

function numberArg(n: number): string {
  if (Number.isFinite(n)) return String(n);
  if (n === Infinity) return '+inf';
  if (n === -Infinity) return '-inf';
  throw new BeyodError(RedisErrorCodes.BAD_ARGUMENT, 'NaN is not a valid redis argument');
}
