import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { Endpoint, Parser } from '@beyod/core';
import { type CookieOptions, serializeCookie } from './cookies';
import type { HttpRequest } from './HttpRequest';
import { type HttpState, type QueuedResponse, TIMER_IDLE, TIMER_NONE, arm, disarm } from './state';
import { switchConnection } from './upgrade';

/** What a response body may be. A stream is sent as it is read, with backpressure. */
export type ResponseBody = string | Buffer | Readable;

const BAD_HEADER = /[\r\n\0]/;
/**
 * Bytes a response not yet at the head of its connection's queue buffers before write()
 * returns false (it is written once the responses before it are done).
 */
const HIGH_WATER_MARK = 64 * 1024;
const CRLF = '\r\n';

let dateCache = '';
/** "HTTP/1.1 200 OK\r\nDate: …\r\n", the head's start of most responses, made with dateCache. */
let okCache = '';
/**
 * The Date header value: formatted when first needed in a second and forgotten when the second
 * is over (a timer runs only while responses are made, as node:http does) — so a response
 * reads no clock at all (Date.now() per response was a measurable share of a small one).
 */
function httpDate(): string {
  if (dateCache === '') {
    const now = Date.now();
    dateCache = new Date(now).toUTCString();
    okCache = `HTTP/1.1 200 OK\r\nDate: ${dateCache}\r\n`;
    setTimeout(forgetDate, 1000 - (now % 1000)).unref();
  }
  return dateCache;
}
function forgetDate(): void {
  dateCache = '';
  okCache = '';
}

function isReadable(v: unknown): v is Readable {
  return v !== null && typeof v === 'object' && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

/**
 * The response to one request. Set `status`, headers and cookies, then `end(body)` (or set
 * `body` and return from onRequest: the handler ends it). `write()` streams the body in chunks
 * (chunked encoding for HTTP/1.1, close-delimited for 1.0). Responses of pipelined requests
 * go out in request order whatever order they end in.
 *
 * Backpressure, as a node Writable: write() returns false when the connection's send buffer is
 * full (or, for a response waiting behind earlier ones, when it has buffered 64 KiB), and the
 * response emits 'drain' when writing may go on; `readable.pipe(res)` and `res.end(readable)`
 * honour it. It emits 'finish' once the whole response is handed to the connection, and
 * 'close' after that or when the connection closed first (on the next tick; a listener added
 * later still gets them, on the tick after it was added). Nothing written is ever dropped.
 */
export class HttpResponse extends EventEmitter implements QueuedResponse {
  status = 200;
  /** Reason phrase; the standard one for `status` when empty. */
  statusMessage = '';
  /** The body end() sends when called without one. */
  body: ResponseBody | undefined = undefined;
  /** end() was called. */
  finished = false;
  /** The head was written (or queued): headers can no longer change. */
  headersSent = false;
  closesConnection: boolean;

  private readonly headerList: Array<[string, string | readonly string[]]> = [];
  private cookies: string[] | undefined;
  /** What was written while earlier responses were still in flight, and its size. */
  private out: Array<Buffer | string> | null = null;
  private outBytes = 0;
  private complete = false;
  private chunked = false;
  private stream: Readable | undefined;
  private streamStarted = false;
  /** The stream given to end() is paused until the connection drains. */
  private streamPaused = false;
  /** write() returned false: emit 'drain' once writing may go on. */
  private needDrain = false;
  /** A Readable was piped into this response (readable.pipe(res)): the handler does not end it. */
  private piped = false;
  /** Complete, and 'finish'/'close' not emitted: nothing listened yet (see done()). */
  private finishOwed = false;
  /** Body bytes still allowed by a Content-Length set before streaming (-1: none set). */
  private remaining = -1;

  constructor(
    readonly request: HttpRequest,
    private readonly conn: Endpoint,
    private readonly state: HttpState,
  ) {
    super();
    this.closesConnection = !request.keepAlive;
  }

  /** @internal a Readable's pipe() announces itself with 'pipe': remember it (see isPiped). */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'pipe') this.piped = true;
    return super.emit(event, ...args);
  }

  /** A Readable is being piped into this response: it ends it (the handler must not). */
  get isPiped(): boolean {
    return this.piped;
  }

  /** True while write() has returned false and 'drain' has not been emitted yet (as Writable.writableNeedDrain). */
  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  /** Set a header (replacing one of the same name, any case). Throws on CR/LF (header injection). */
  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this.headersSent) throw new Error(`cannot set header ${name}: the response head was already sent`);
    const v = typeof value === 'number' ? String(value) : value;
    for (const s of typeof v === 'string' ? [v] : v) {
      if (BAD_HEADER.test(s) || BAD_HEADER.test(name)) throw new TypeError(`header ${JSON.stringify(name)} holds CR, LF or NUL`);
    }
    const lower = name.toLowerCase();
    if (lower === 'connection' && typeof v === 'string' && /\bclose\b/i.test(v)) this.closesConnection = true;
    const i = this.indexOf(lower);
    if (i >= 0) this.headerList[i] = [name, v];
    else this.headerList.push([name, v]);
    return this;
  }

  getHeader(name: string): string | readonly string[] | undefined {
    const i = this.indexOf(name.toLowerCase());
    return i < 0 ? undefined : this.headerList[i]![1];
  }

  hasHeader(name: string): boolean {
    return this.indexOf(name.toLowerCase()) >= 0;
  }

  removeHeader(name: string): this {
    const i = this.indexOf(name.toLowerCase());
    if (i >= 0) this.headerList.splice(i, 1);
    return this;
  }

  private indexOf(lower: string): number {
    const list = this.headerList;
    for (let i = 0; i < list.length; i++) if (list[i]![0].toLowerCase() === lower) return i;
    return -1;
  }

  /** Set Content-Type. */
  type(contentType: string): this {
    return this.setHeader('Content-Type', contentType);
  }

  /** Add a Set-Cookie header. */
  cookie(name: string, value: string, options?: CookieOptions): this {
    if (this.headersSent) throw new Error(`cannot set cookie ${name}: the response head was already sent`);
    (this.cookies ??= []).push(serializeCookie(name, value, options));
    return this;
  }

  /** Tell the client to drop a cookie (same path/domain as when it was set). */
  clearCookie(name: string, options: CookieOptions = {}): this {
    return this.cookie(name, '', { ...options, maxAge: 0, expires: new Date(0) });
  }

  /** Send `value` as JSON. */
  json(value: unknown): void {
    if (!this.hasHeader('content-type')) this.setHeader('Content-Type', 'application/json; charset=utf-8');
    this.end(JSON.stringify(value));
  }

  /** Redirect to `location` (302 unless given). */
  redirect(location: string, status = 302): void {
    this.status = status;
    this.setHeader('Location', location);
    this.end('');
  }

  /**
   * Answer 101 Switching Protocols (with `Upgrade: protocol`, `Connection: Upgrade` and the
   * headers set so far) and hand the connection to `parser` for good: the bytes the client
   * sends after its request — even in the same packet — are framed by `parser`, messages sent
   * on the connection are encoded by it, and its per-connection state starts as `state` (in
   * `connection.parserState`). The handler's onMessage then gets what `parser` decodes.
   *
   * Only for a request with nothing else in flight on its connection (http.Handler calls
   * onUpgrade only then), before anything of this response was sent.
   */
  switchProtocols(protocol: string, parser: Parser<unknown, unknown>, state?: unknown): void {
    if (this.headersSent) throw new Error('switchProtocols() after the response head was sent');
    if (this.state.queue.length !== 1 || !this.active)
      throw new Error('switchProtocols() while other responses are in flight on the connection');
    if (this.closesConnection) throw new Error('switchProtocols() on a connection that closes after this response');
    this.status = 101;
    this.setHeader('Upgrade', protocol);
    this.setHeader('Connection', 'Upgrade');
    this.end();
    // The 101 is queued on the connection (and out of HTTP's queue): nothing is HTTP's any more.
    this.state.closing = true;
    disarm(this.conn, this.state);
    switchConnection(this.conn, parser, state);
  }

  /**
   * Send part of the body now (the head first, on the first call). Returns false when it
   * should wait: the connection's send buffer is full, or this response waits behind earlier
   * ones and has buffered 64 KiB. Nothing is dropped either way; write more after 'drain'.
   * Throws when the chunk would go past a Content-Length set before the first write.
   */
  write(chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (this.finished) throw new Error('write() after end()');
    if (!this.headersSent) this.startStreaming();
    const cb = typeof encoding === 'function' ? encoding : callback;
    const data = typeof chunk === 'string' && typeof encoding === 'string' && encoding !== 'utf8' ? Buffer.from(chunk, encoding) : chunk;
    const ok = this.emitChunk(toChunk(data), true);
    if (!ok) this.needDrain = true;
    if (cb !== undefined) process.nextTick(cb);
    return ok;
  }

  /** True until end() (as Writable.writable). */
  get writable(): boolean {
    return !this.finished;
  }

  /** Finish the response, with `body` (or `this.body`) when no write() came before. */
  end(body?: ResponseBody | Uint8Array): void;
  // The forms of a node Writable's end() (so readable.pipe(res) and stream.pipeline type-check).
  end(callback?: () => void): this;
  end(data: string | Uint8Array, callback?: () => void): this;
  end(data: string, encoding?: BufferEncoding, callback?: () => void): this;
  end(body?: ResponseBody | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), callback?: () => void): this {
    // the callback forms of a node Writable's end() (for pipe() and stream utilities)
    const cb = typeof body === 'function' ? body : typeof encoding === 'function' ? encoding : callback;
    if (cb !== undefined) this.once('finish', cb);
    if (typeof body === 'function') body = undefined;
    else if (typeof body === 'string' && typeof encoding === 'string' && encoding !== 'utf8') body = Buffer.from(body, encoding);
    this.endBody(body);
    return this;
  }

  private endBody(body: ResponseBody | Uint8Array | undefined): void {
    if (this.finished) return;
    this.finished = true;
    if (body !== undefined) this.body = body instanceof Uint8Array && !Buffer.isBuffer(body) ? toChunk(body) : (body as ResponseBody);
    const b = this.body;
    if (this.headersSent) {
      // streamed with write(): the rest, then the terminator
      if (isReadable(b)) this.pipe(b);
      else {
        if (b !== undefined && b.length > 0) this.emitChunk(b, false);
        this.finishStreaming();
      }
      return;
    }
    if (isReadable(b)) {
      this.startStreaming();
      this.pipe(b);
      return;
    }
    const noBody = this.status < 200 || this.status === 204 || this.status === 304;
    const isHead = this.request.method === 'HEAD';
    let payload: string | Buffer = b ?? '';
    if (noBody) payload = '';
    else if (typeof payload === 'string' && !this.hasHeader('content-type'))
      this.headerList.push(['Content-Type', 'text/html; charset=utf-8']);
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    const head = this.headString(noBody ? -1 : length);
    this.headersSent = true;
    if (isHead || length === 0) this.put(head);
    else if (typeof payload === 'string') this.put(head + payload);
    else this.put(head, payload);
    this.done();
  }

  /** @internal the response reached the head of the queue: write what is pending. True once complete. */
  _flush(): boolean {
    if (this.out !== null && this.out.length > 0) {
      const full = !this.conn.send(this.out.splice(0), true);
      this.outBytes = 0;
      // what it wrote while waiting is out: tell a waiting writer, unless the connection is full now
      if (!full && this.needDrain) process.nextTick(emitDrain, this);
    }
    if (this.stream !== undefined && !this.streamStarted) this.startPipe();
    return this.complete;
  }

  /** @internal the connection's send buffer drained (this response is at the head of the queue). */
  _drained(): void {
    if (this.streamPaused) {
      this.streamPaused = false;
      this.stream?.resume();
    }
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /**
   * @internal Take one of the connection's `max` file slots (static files open at once):
   * undefined when one was free, else a promise resolved when one is handed over.
   */
  _fileSlot(max: number): Promise<void> | undefined {
    const s = this.state;
    if (s.files < max) {
      s.files++;
      return undefined;
    }
    return new Promise<void>((resolve) => (s.fileWaiters ??= []).push(resolve));
  }

  /** @internal Give the slot back, or hand it to the next response waiting for one. */
  _releaseFileSlot(): void {
    const s = this.state;
    const next = s.fileWaiters?.shift();
    if (next !== undefined) next();
    else s.files--;
  }

  /** @internal the connection closed first. */
  _abort(): void {
    this.stream?.destroy();
    this.removeTempFiles();
    if (!this.complete) this.emit('close');
  }

  private get active(): boolean {
    return this.state.queue[0] === this;
  }

  /**
   * Queue bytes of this response, in one send (a chunk's size line, data and CRLF go
   * together): on the connection when this response is at the head of the queue, else in its
   * own buffer until it is. False when the writer should wait for 'drain'.
   */
  private put(a: Buffer | string, b?: Buffer | string, c?: Buffer | string): boolean {
    if (this.active) return this.conn.send(b === undefined ? a : c === undefined ? [a, b] : [a, b, c], true);
    const out = (this.out ??= []);
    out.push(a);
    this.outBytes += a.length;
    if (b !== undefined) {
      out.push(b);
      this.outBytes += b.length;
    }
    if (c !== undefined) out.push(c);
    return this.outBytes < HIGH_WATER_MARK;
  }

  private headString(contentLength: number): string {
    let h: string;
    if (this.status === 200 && this.statusMessage === '') {
      httpDate();
      h = okCache;
    } else {
      const message = this.statusMessage || STATUS_CODES[this.status] || 'Unknown';
      h = `HTTP/1.1 ${this.status} ${message}\r\nDate: ${httpDate()}\r\n`;
    }
    let userConnection = false;
    let userLength = false;
    for (const [name, value] of this.headerList) {
      // Only "connection" (10) and "content-length" (14) matter here: skip lower-casing the rest.
      const lower = name.length === 10 || name.length === 14 ? name.toLowerCase() : '';
      if (lower === 'connection') userConnection = true;
      else if (lower === 'content-length') userLength = true;
      if (typeof value === 'string') h += `${name}: ${value}\r\n`;
      else for (const v of value) h += `${name}: ${v}\r\n`;
    }
    if (this.cookies !== undefined) for (const c of this.cookies) h += `Set-Cookie: ${c}\r\n`;
    if (contentLength >= 0 && !userLength) h += `Content-Length: ${contentLength}\r\n`;
    if (this.chunked) h += 'Transfer-Encoding: chunked\r\n';
    if (!userConnection) {
      if (this.closesConnection) h += 'Connection: close\r\n';
      else if (this.request.httpVersion === '1.0') h += 'Connection: keep-alive\r\n';
    }
    return h + '\r\n';
  }

  private startStreaming(): void {
    const noBody = this.status < 200 || this.status === 204 || this.status === 304 || this.request.method === 'HEAD';
    if (!noBody) {
      const declared = this.getHeader('content-length');
      if (declared !== undefined) this.remaining = Number(declared);
      else if (this.request.httpVersion === '1.1') this.chunked = true;
      else this.closesConnection = true; // HTTP/1.0: the end of the body is the end of the connection
    }
    this.headersSent = true;
    this.put(this.headString(-1));
  }

  /**
   * Queue a piece of the body (framed as a chunk when chunked). With a Content-Length, bytes
   * past it are refused: thrown at a write() (`strict`), else cut and the connection closed
   * after this response — never sent, where they would be read as the next response.
   */
  private emitChunk(chunk: string | Buffer, strict: boolean): boolean {
    if (this.request.method === 'HEAD' || this.status === 204 || this.status === 304) return true;
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (n === 0) return !this.conn.isFull;
    if (this.chunked) return this.put(`${n.toString(16)}\r\n`, chunk, CRLF);
    if (this.remaining >= 0) {
      if (n > this.remaining) {
        if (strict) throw new Error(`write() of ${n} bytes goes past Content-Length (${this.remaining} bytes left)`);
        const fits = Buffer.from(chunk).subarray(0, this.remaining);
        this.remaining = 0;
        this.closesConnection = true;
        return fits.length > 0 ? this.put(fits) : !this.conn.isFull;
      }
      this.remaining -= n;
    }
    return this.put(chunk);
  }

  private finishStreaming(): void {
    if (this.chunked && this.request.method !== 'HEAD') this.put('0\r\n\r\n');
    // A body shorter than its Content-Length: the client can only tell by the connection closing.
    if (this.remaining > 0) this.closesConnection = true;
    this.done();
  }

  private pipe(stream: Readable): void {
    this.stream = stream;
    // Listen for errors at once: a stream may fail before this response reaches the head of
    // the queue (an emitted 'error' without a listener is an uncaught exception).
    stream.once('error', () => {
      // The head may be on its way: the only honest signal left is to cut the connection.
      (this.conn as Endpoint & { destroy?: (reason?: string) => void }).destroy?.('error');
    });
    if (this.active) this.startPipe();
  }

  /** The response reached the head of the queue: read its stream, pausing it while the connection is full. */
  private startPipe(): void {
    const stream = this.stream as Readable;
    this.streamStarted = true;
    if (this.request.method === 'HEAD') {
      stream.destroy();
      this.finishStreaming();
      return;
    }
    stream.on('data', (chunk: Buffer | string) => {
      if (!this.emitChunk(chunk, false)) {
        stream.pause();
        this.streamPaused = true;
      }
    });
    stream.once('end', () => this.finishStreaming());
  }

  private done(): void {
    this.complete = true;
    // 'finish' and 'close' on the next tick — or, when nothing listens yet, once something
    // does (most responses are never listened to: a tick and two emits saved per response).
    if (this.listenerCount('finish') > 0 || this.listenerCount('close') > 0) process.nextTick(emitFinish, this);
    else this.finishOwed = true;
    if (this.active) pumpQueue(this.state, this.conn);
  }

  override on(event: string | symbol, listener: EmitterListener): this {
    super.on(event, listener);
    if (this.finishOwed) this.listened(event);
    return this;
  }

  override addListener(event: string | symbol, listener: EmitterListener): this {
    return this.on(event, listener);
  }

  override prependListener(event: string | symbol, listener: EmitterListener): this {
    super.prependListener(event, listener);
    if (this.finishOwed) this.listened(event);
    return this;
  }

  /** A listener came for the 'finish' and 'close' that done() did not emit: emit them now (next tick). */
  private listened(event: string | symbol): void {
    if (event !== 'finish' && event !== 'close') return;
    this.finishOwed = false;
    process.nextTick(emitFinish, this);
  }

  /** @internal */
  removeTempFiles(): void {
    const files = this.request._tempFiles;
    if (files === undefined) return;
    this.request._tempFiles = undefined;
    for (const f of files) fs.rm(f, { force: true }, () => {});
  }
}

/**
 * Write responses from the head of the queue while they are complete; close the connection
 * after one that closes it; arm the keep-alive timer when nothing is left in flight.
 */
export function pumpQueue(state: HttpState, conn: Endpoint): void {
  const q = state.queue;
  while (q.length > 0) {
    const head = q[0] as HttpResponse;
    if (!head._flush()) break;
    q.shift();
    head.removeTempFiles();
    if (head.closesConnection) {
      closeAfterResponses(state, conn);
      return;
    }
  }
  // Input held for the bound on requests in flight: read again once half of them are answered.
  if (state.held && q.length <= state.resumeAt) {
    state.held = false;
    if (!state.failed && !state.closing && !state.lastRequest) (conn as Endpoint & { resume?: () => void }).resume?.();
  }
  if (q.length > 0) return;
  if (!state.closing && state.head === undefined && state.timer === TIMER_NONE && state.keepAliveTimeoutMs > 0) {
    arm(conn, state, TIMER_IDLE, state.keepAliveTimeoutMs);
  }
}

/** No more responses on this connection: close it once what is queued is written. */
export function closeAfterResponses(state: HttpState, conn: Endpoint): void {
  state.closing = true;
  disarm(conn, state);
  for (const r of state.queue.splice(0)) r._abort();
  conn.close();
}

function emitDrain(res: HttpResponse): void {
  res._drained();
}

function emitFinish(res: HttpResponse): void {
  res.emit('finish');
  res.emit('close');
}

type WriteCallback = (error?: Error | null) => void;
type EmitterListener = Parameters<EventEmitter['on']>[1];

function toChunk(chunk: string | Buffer | Uint8Array): string | Buffer {
  return typeof chunk === 'string' || Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
