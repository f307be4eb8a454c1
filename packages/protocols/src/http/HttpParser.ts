import { type Encoded, type Endpoint, HANDOFF_LATER, HANDOFF_NEVER, Parser } from '@beyod/core';
import { HttpErrorCodes } from './errors';
import { HeadError, type RequestHead, parseHead } from './head';
import { parseHeadFast } from './headFast';
import { HttpRequest } from './HttpRequest';
import { CONTINUE_EXPECTED, HttpState, TIMER_BODY, TIMER_HEAD, TIMER_IDLE, TIMER_NONE, arm, disarm } from './state';
import { switchConnection, switchedParser } from './upgrade';

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
/** Longest chunk-size line (size, extensions) accepted in a chunked body. */
const MAX_CHUNK_LINE = 1024;
/** Empty lines tolerated before a request line (RFC 9112 2.2 says "at least one"). */
const MAX_LEADING_EMPTY = 64;

/**
 * HTTP/1.1 request framing (RFC 9112): one packet is one request, head and body.
 *
 * - The head is searched for its blank line once per byte however many chunks it spans (the
 *   scan offset is kept per connection); once it is parsed the packet's whole length is
 *   returned (head + Content-Length), so the body is never scanned. Chunked bodies are walked
 *   chunk by chunk, resuming where the last call stopped.
 * - Limits: a head over `maxHeaderSize` is answered 431, a request over `maxPacketSize` (head
 *   and body) 413 — before its body is read, and instead of a 100 Continue — and a malformed
 *   one 400; the handler then closes the connection. A head not complete `headerTimeout`
 *   seconds after its first byte is answered 408 (slowloris), and so is a request whose body
 *   is not complete `requestTimeout` seconds after it began; a connection idle between
 *   requests for `keepAliveTimeout` seconds is closed.
 * - The deadlines are the connection's (core's setDeadline, kinds TIMER_*): http.Handler
 *   answers them (beforeDeadline). The parser only arms and clears them: framing is its job,
 *   writing the handler's.
 * - A request with `Expect: 100-continue` whose body has not started arriving is framed as
 *   two packets: its head (decoded as CONTINUE_EXPECTED, which http.Handler answers with
 *   100 Continue unless earlier responses are still in flight — then the client sends its
 *   body after its own timeout, as RFC 9110 10.1.1 provides), then its body.
 *
 * decode() gives an HttpRequest; http.Handler answers it. encode() passes bytes through.
 *
 * After a 101 Switching Protocols (HttpResponse.switchProtocols, or switchProtocol() here) the
 * connection belongs to another parser: this one hands it every byte, packet and message.
 */
export class HttpParser extends Parser<HttpRequest | unknown, unknown> {
  /** Its name in `beyod connections`; a connection switched to another protocol shows that one's. */
  override readonly protocol: string = 'http';
  override protocolOf(conn: Endpoint): string {
    const to = switchedParser(conn);
    return to ? (to.protocol ?? to.constructor.name) : this.protocol;
  }
  override maxPacketSize = 8 * 1024 * 1024;
  /**
   * HTTP is a byte stream: a dropped write would shift every later response. Past the
   * listener's maxSendBuffer nothing is dropped; the connection stops reading requests until
   * its responses drain (see docs/networking.md, send policy).
   */
  override sendPolicy = 'pause' as const;
  /** Largest request head (request line + headers) in bytes. */
  maxHeaderSize = 16 * 1024;
  /** Seconds a client has from the first byte of a request head to its end (0 = no limit). */
  headerTimeout = 20;
  /** Seconds a keep-alive connection may sit idle between requests (0 = no limit). */
  keepAliveTimeout = 5;
  /** Seconds a client has from the first byte of a request to the last byte of its body (0 = no limit). */
  requestTimeout = 300;

  constructor() {
    super();
    // the fast paths must not bypass a subclass's own input() or decode()
    const self = this as Parser<unknown, unknown>;
    if (this.input !== HttpParser.prototype.input || this.decode !== HttpParser.prototype.decode) {
      self.inputAt = undefined;
      self.decodeAt = undefined;
    }
  }

  /** The connection's state, created on its first use. */
  stateOf(conn: Endpoint): HttpState {
    const s = conn.parserState;
    if (s instanceof HttpState) return s;
    const fresh = new HttpState(this.keepAliveTimeout * 1000);
    conn.parserState = fresh;
    return fresh;
  }

  /** Start the keep-alive clock of a new connection (http.Handler calls it on connect). */
  watch(conn: Endpoint): void {
    const s = this.stateOf(conn);
    if (s.timer === TIMER_NONE && this.keepAliveTimeout > 0) arm(conn, s, TIMER_IDLE, this.keepAliveTimeout * 1000);
  }

  /**
   * Hand `conn` to `parser` for good (its per-connection state starts as `state`): what the
   * peer sends from now on is framed by it, and what is sent is encoded by it. Nothing in
   * flight on the connection is HTTP's any more; HttpResponse.switchProtocols() writes the 101
   * first and is what a handler normally calls.
   */
  switchProtocol(conn: Endpoint, parser: Parser<unknown, unknown>, state?: unknown): void {
    const s = conn.parserState;
    if (s instanceof HttpState) {
      s.closing = true;
      disarm(conn, s);
    }
    switchConnection(conn, parser, state);
  }

  /**
   * Live handoff (a reload): a keep-alive connection moves between requests — nothing in flight,
   * no request begun (its keep-alive deadline moves with it). A connection switched to another
   * protocol moves if that protocol says how (exportSwitched); otherwise it drains.
   */
  override exportState(conn: Endpoint): unknown {
    const up = switchedParser(conn);
    if (up !== undefined) return this.exportSwitched(conn, up);
    const s = conn.parserState;
    if (s === undefined) return null;
    if (!(s instanceof HttpState)) return HANDOFF_NEVER;
    const between =
      s.queue.length === 0 &&
      s.head === undefined &&
      s.error === undefined &&
      !s.failed &&
      !s.closing &&
      !s.held &&
      !s.lastRequest &&
      s.files === 0 &&
      s.tempFiles.length === 0 &&
      (s.timer === TIMER_IDLE || s.timer === TIMER_NONE);
    return between ? { http: { timer: s.timer } } : HANDOFF_LATER;
  }

  override importState(state: unknown, conn: Endpoint): void {
    if (state === null) return;
    const o = state as { http?: { timer?: unknown }; switched?: unknown };
    if (typeof o === 'object' && o.http !== undefined) {
      const s = this.stateOf(conn);
      s.timer = o.http.timer === TIMER_IDLE ? TIMER_IDLE : TIMER_NONE;
      return;
    }
    if (typeof o === 'object' && o.switched !== undefined) {
      this.importSwitched(o.switched, conn);
      return;
    }
    throw new Error('not an HTTP connection state');
  }

  /**
   * Live handoff of a connection switched to another protocol: its state as `{ switched: … }`
   * (JSON), HANDOFF_LATER or HANDOFF_NEVER. Here: HANDOFF_NEVER — http.Parser cannot know which
   * parser to switch it to in the replacement; a parser that switches connections to a protocol
   * of its own (websocket.Parser) overrides this and importSwitched().
   */
  protected exportSwitched(_conn: Endpoint, _parser: Parser<unknown, unknown>): unknown {
    return HANDOFF_NEVER;
  }

  /** Live handoff: switch an adopted connection again, from what exportSwitched() gave. */
  protected importSwitched(_state: unknown, _conn: Endpoint): void {
    throw new Error(`${this.constructor.name} cannot adopt a connection switched to another protocol`);
  }

  override input(buffer: Buffer, conn: Endpoint): number {
    const up = switchedParser(conn);
    if (up !== undefined) return up.input(buffer, conn);
    const s = this.stateOf(conn);
    if (s.failed) throw new HeadError(400, 'bytes after a refused request');
    const inBody = s.head;
    if (inBody !== undefined) return inBody.chunked ? this.scanChunked(buffer, s) : inBody.contentLength;

    let lead = 0;
    while (lead < buffer.length && (buffer[lead] === CR || buffer[lead] === LF)) lead++;
    if (lead > MAX_LEADING_EMPTY) return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'too many empty lines before the request');
    if (lead === buffer.length) return 0;
    const limit = this.maxPacketSize > 0 ? Math.min(this.maxHeaderSize, this.maxPacketSize - 1) : this.maxHeaderSize;
    // First look at this head: most often it is all here, read in one pass (no search for its end).
    const first = s.scanned === 0;
    let head: RequestHead | undefined;
    try {
      if (first) head = parseHeadFast(buffer, lead, Math.min(buffer.length, lead + limit + 4));
    } catch (e) {
      return this.failHead(conn, s, e);
    }
    if (head === undefined) {
      if (first) {
        s.startedAt = Date.now();
        if (this.headerTimeout > 0) arm(conn, s, TIMER_HEAD, this.headerTimeout * 1000);
        else disarm(conn, s);
      }
      const end = findHeadEnd(buffer, lead, s);
      if (end < 0) {
        if (end === BARE) return this.fail(conn, s, 400, HttpErrorCodes.BAD_REQUEST, 'a line of the request head does not end with CRLF');
        if (buffer.length - lead > limit) return this.tooLargeHead(conn, s, buffer.length - lead, limit);
        return 0;
      }
      const headLength = end + 4;
      if (headLength - lead > limit) return this.tooLargeHead(conn, s, headLength - lead, limit);
      try {
        head = parseHeadFast(buffer, lead, headLength) ?? parseHead(buffer, lead, end, headLength);
      } catch (e) {
        return this.failHead(conn, s, e);
      }
    }
    s.scanned = 0;
    const headLength = head.headLength;
    if (headLength - lead > limit) return this.tooLargeHead(conn, s, headLength - lead, limit);
    s.head = head;
    const total = head.chunked ? 0 : headLength + (head.contentLength > 0 ? head.contentLength : 0);
    if (this.maxPacketSize > 0 && total > this.maxPacketSize) {
      return this.fail(
        conn,
        s,
        413,
        HttpErrorCodes.BODY_TOO_LARGE,
        `request of ${total} bytes exceeds maxPacketSize ${this.maxPacketSize}`,
      );
    }
    const bodyPending = head.chunked || total > buffer.length;
    if (bodyPending) {
      if (first) s.startedAt = Date.now();
      this.armBody(conn, s);
    } else if (s.timer === TIMER_IDLE) {
      // The keep-alive deadline is only forgotten, not cleared: the response re-arms it, which
      // then costs a field write (a deadline pushed later stays where it is on the wheel); if it
      // passes first (a slow answer), http.Handler sees HTTP armed none (s.timer) and ignores it.
      s.timer = TIMER_NONE;
    } else disarm(conn, s);
    // Nothing of the body here yet and the client waits for a 100: the head is a packet of its own.
    if (head.expectContinue && bodyPending && buffer.length === headLength && (head.chunked || head.contentLength > 0)) {
      s.bodyOnly = true;
      s.headPacket = true;
      s.chunkAt = 0;
      return headLength;
    }
    if (head.chunked) {
      s.chunkAt = headLength;
      return this.scanChunked(buffer, s);
    }
    return total;
  }

  /** A body is still to come: its deadline counts from the request's first byte. */
  private armBody(conn: Endpoint, s: HttpState): void {
    if (this.requestTimeout > 0) arm(conn, s, TIMER_BODY, s.startedAt + this.requestTimeout * 1000 - Date.now());
    else disarm(conn, s);
  }

  /** parseHead refused the head: answer its status. */
  private failHead(conn: Endpoint, s: HttpState, e: unknown): number {
    if (!(e instanceof HeadError)) throw e;
    return this.fail(conn, s, e.status, HttpErrorCodes.BAD_REQUEST, e.message);
  }

  private tooLargeHead(conn: Endpoint, s: HttpState, size: number, limit: number): number {
    return this.fail(conn, s, 431, HttpErrorCodes.HEADERS_TOO_LARGE, `request head of ${size}+ bytes exceeds maxHeaderSize ${limit}`);
  }

  /**
   * Walk a chunked body from where the last call stopped; its total length once the last
   * chunk and the trailers are in. Every line must end with CRLF: a bare LF or CR is refused
   * as soon as it arrives.
   */
  private scanChunked(buf: Buffer, s: HttpState): number {
    // the head counts against maxPacketSize, also when it was a packet of its own
    const max = this.maxPacketSize > 0 && s.bodyOnly ? this.maxPacketSize - (s.head?.headLength ?? 0) : this.maxPacketSize;
    let at = s.chunkAt;
    for (;;) {
      const lf = buf.indexOf(LF, at);
      if ((lf < 0 ? buf.length : lf) - at > MAX_CHUNK_LINE)
        return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'chunk-size line too long');
      if (lf < 0) return this.waitMore(buf, s, at);
      if (lf === at || buf[lf - 1] !== CR)
        return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'chunk-size line does not end with CRLF');
      const size = parseChunkLine(buf, at, lf - 1);
      if (size < 0) return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'malformed chunk-size line');
      if (size === 0) return this.scanTrailers(buf, s, at, lf + 1);
      const dataEnd = lf + 1 + size;
      if (max > 0 && dataEnd + 2 > max) {
        return this.refused(s, 413, HttpErrorCodes.BODY_TOO_LARGE, `chunked request exceeds maxPacketSize ${max}`);
      }
      if (buf.length < dataEnd + 2) return this.waitMore(buf, s, at);
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF)
        return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'chunk data not followed by CRLF');
      s.chunkRanges.push(lf + 1, dataEnd);
      s.bodyBytes += size;
      at = dataEnd + 2;
    }
  }

  /** After the last chunk: trailer field lines (checked, then ignored) up to an empty line. */
  private scanTrailers(buf: Buffer, s: HttpState, chunkLine: number, from: number): number {
    let at = from;
    for (;;) {
      const lf = buf.indexOf(LF, at);
      if (lf < 0) {
        if (buf.length - from > this.maxHeaderSize)
          return this.refused(
            s,
            431,
            HttpErrorCodes.HEADERS_TOO_LARGE,
            `trailers of ${buf.length - from}+ bytes exceed maxHeaderSize ${this.maxHeaderSize}`,
          );
        return this.waitMore(buf, s, chunkLine);
      }
      if (lf === at || buf[lf - 1] !== CR) return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'trailer line does not end with CRLF');
      if (lf - 1 === at) return lf + 1;
      if (!isFieldLine(buf, at, lf - 1)) return this.refused(s, 400, HttpErrorCodes.BAD_REQUEST, 'malformed trailer field');
      at = lf + 1;
    }
  }

  private waitMore(buf: Buffer, s: HttpState, at: number): number {
    s.chunkAt = at;
    // Answer 413 ourselves before the connection refuses the buffer without a response.
    if (this.maxPacketSize > 0 && buf.length >= this.maxPacketSize) {
      return this.refused(s, 413, HttpErrorCodes.BODY_TOO_LARGE, `chunked request exceeds maxPacketSize ${this.maxPacketSize}`);
    }
    return 0;
  }

  /** Refuse the request and stop its deadline. */
  private fail(conn: Endpoint, s: HttpState, status: number, code: string, message: string): number {
    disarm(conn, s);
    return this.refused(s, status, code, message);
  }

  /**
   * Refuse the request: a 1-byte packet whose decode() carries the error to the handler,
   * which answers it (and clears the deadline).
   */
  private refused(s: HttpState, status: number, code: string, message: string): number {
    s.error = { status, code, message };
    s.failed = true;
    return 1;
  }

  override decode(packet: Buffer, conn: Endpoint): HttpRequest | unknown {
    const up = switchedParser(conn);
    if (up !== undefined) return up.decode(packet, conn);
    return this.decodeAt(packet, 0, packet.length, conn);
  }

  /**
   * input() over buf[start, end): the connection calls it with its own buffer. A read that
   * holds one request (no pipelining) is looked at as it is, without a view.
   */
  override inputAt(buf: Buffer, start: number, end: number, conn: Endpoint): number {
    return this.input(start === 0 && end === buf.length ? buf : buf.subarray(start, end), conn);
  }

  /** decode() of buf[at, at + length): a request without a body needs no view of the packet. */
  override decodeAt(buf: Buffer, at: number, length: number, conn: Endpoint): HttpRequest | unknown {
    const up = switchedParser(conn);
    if (up !== undefined) return up.decode(buf.subarray(at, at + length), conn);
    const s = this.stateOf(conn);
    if (s.error !== undefined) {
      const error = s.error;
      s.error = undefined;
      return HttpRequest.refused(error, conn.peer);
    }
    const head = s.head;
    if (head === undefined) throw new HeadError(400, 'decode() without a parsed head');
    if (s.headPacket) {
      // the head alone (see input): its body is the next packet
      s.headPacket = false;
      return CONTINUE_EXPECTED;
    }
    if (s.timer === TIMER_BODY) disarm(conn, s);
    let body: Buffer;
    if (head.chunked) body = joinRanges(buf.subarray(at, at + length), s.chunkRanges, s.bodyBytes);
    else if (head.contentLength <= 0) body = EMPTY;
    else body = buf.subarray(s.bodyOnly ? at : at + head.headLength, at + length);
    s.resetBody();
    return new HttpRequest(head, body, conn.peer);
  }

  override encode(message: unknown, conn: Endpoint): Encoded {
    const up = switchedParser(conn);
    if (up !== undefined) return up.encode(message, conn);
    return message as Encoded;
  }
}

/** findHeadEnd(): a line ends with a bare LF, or holds a CR that does not end it. */
const BARE = -2;
const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * The index of the CRLFCRLF that ends the head in `buf` (searched from `lead`, resuming where
 * the last call stopped: `s.scanned` bytes were searched before); -1 while it has not arrived,
 * BARE when what arrived holds a bare LF or a CR not followed by LF — refused at once, not left
 * to time out (RFC 9112 2.2: such a line is not a line). A complete head's lines are checked
 * by parseHead.
 */
function findHeadEnd(buf: Buffer, lead: number, s: HttpState): number {
  const from = Math.max(lead, s.scanned - 3);
  const at = buf.indexOf(HEAD_END, from);
  if (at >= 0) {
    s.scanned = 0;
    return at;
  }
  if (hasBareLineEnd(buf, Math.max(lead, s.scanned - 1))) return BARE;
  s.scanned = buf.length;
  return -1;
}

/** An LF at or after `from` not preceded by CR, or a CR followed by something else than LF. */
function hasBareLineEnd(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) if (i === 0 || buf[i - 1] !== CR) return true;
  for (let i = buf.indexOf(CR, from); i >= 0; i = buf.indexOf(CR, i + 1)) if (i + 1 < buf.length && buf[i + 1] !== LF) return true;
  return false;
}

/**
 * The chunk size of the line [at, end) (its CRLF excluded), -1 when malformed. The line is
 * hex digits, then extensions `;name` or `;name=value` (value a token or a quoted string),
 * with no whitespace anywhere: RFC 9112 7.1.1 allows some around ';' and '=', node:http
 * (llhttp) refuses it, and so do we — no client sends it, and every leniency in chunk
 * framing is room for a proxy and a server to disagree (request smuggling).
 */
function parseChunkLine(buf: Buffer, at: number, end: number): number {
  let n = 0;
  let digits = 0;
  let i = at;
  for (; i < end; i++) {
    const c = buf[i] as number;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    if (n === 0 && d === 0 && digits > 0) continue; // leading zeros do not count
    if (++digits > 12) return -1; // 2^48: far over any maxPacketSize, still a safe integer
    n = n * 16 + d;
  }
  if (i === at) return -1;
  while (i < end) {
    if (buf[i] !== 0x3b) return -1; // ';'
    const name = ++i;
    while (i < end && isTokenChar(buf[i] as number)) i++;
    if (i === name) return -1;
    if (i === end || buf[i] === 0x3b) continue;
    if (buf[i] !== 0x3d) return -1; // '='
    i++;
    if (buf[i] === 0x22) {
      i = endOfQuoted(buf, i + 1, end);
      if (i < 0) return -1;
    } else {
      const value = i;
      while (i < end && isTokenChar(buf[i] as number)) i++;
      if (i === value) return -1;
    }
  }
  return n;
}

/** The index after the closing quote of a quoted-string whose content starts at `i`, -1 when malformed. */
function endOfQuoted(buf: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = buf[i] as number;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      // quoted-pair: "\" then HTAB, SP, VCHAR or obs-text
      const q = buf[i + 1];
      if (i + 1 >= end || q === undefined || (q < 0x20 && q !== 0x09) || q === 0x7f) return -1;
      i += 2;
      continue;
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return -1;
    i++;
  }
  return -1;
}

/** tchar of RFC 9110 5.6.2. */
function isTokenChar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}
const TCHAR = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** A trailer field line [at, end): name ":" value, with no control character but HTAB in the value. */
function isFieldLine(buf: Buffer, at: number, end: number): boolean {
  let i = at;
  while (i < end && isTokenChar(buf[i] as number)) i++;
  if (i === at || buf[i] !== 0x3a) return false;
  for (i++; i < end; i++) {
    const c = buf[i] as number;
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

function joinRanges(packet: Buffer, ranges: number[], total: number): Buffer {
  if (ranges.length === 0) return EMPTY;
  if (ranges.length === 2) return packet.subarray(ranges[0], ranges[1]);
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = 0; i < ranges.length; i += 2) o += packet.copy(out, o, ranges[i], ranges[i + 1]);
  return out;
}
