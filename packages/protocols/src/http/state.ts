import type { Endpoint } from '@beyod/core';
import type { RequestHead } from './head';

// The kinds of the connection deadline (core's setDeadline) that HTTP arms; http.Handler acts
// on them (beforeDeadline). Numbers unlikely to be an application's own kinds.
export const TIMER_NONE = 0;
/** A request head is being received: answered 408 and closed when late. */
export const TIMER_HEAD = 0x48540001;
/** Keep-alive: nothing in flight; closed quietly when late. */
export const TIMER_IDLE = 0x48540002;
/** The head is in, the body is being received: answered 408 and closed when late (slow bodies). */
export const TIMER_BODY = 0x48540003;

/** Whether `kind` is one of HTTP's deadlines. */
export function isHttpDeadline(kind: number): boolean {
  return kind === TIMER_HEAD || kind === TIMER_IDLE || kind === TIMER_BODY;
}

/**
 * The head of a request that asked `Expect: 100-continue`, decoded as a packet of its own
 * before its body arrives: http.Handler answers 100 Continue to it (the parser frames, the
 * handler writes).
 */
export class ContinueExpected {}
export const CONTINUE_EXPECTED = new ContinueExpected();

/** What the response queue needs of a response (see HttpResponse). */
export interface QueuedResponse {
  /** Write what is ready (the response is at the head of the queue); true once it is complete. */
  _flush(): boolean;
  /** The connection must close after this response. */
  readonly closesConnection: boolean;
  /** The connection closed before this response completed. */
  _abort(): void;
}

/** A bad request found by the parser: the handler answers `status` and closes. */
export interface ParseError {
  status: number;
  code: string;
  message: string;
}

/**
 * Per-connection state of the HTTP parser, kept in `connection.parserState`, shared with the
 * handler and responses of the same package: the head scan position (so a head arriving in
 * many chunks is searched once), the chunked-body scan, the queue that keeps pipelined
 * responses in request order, and the header/keep-alive deadline. A connection switched to
 * another protocol (101) no longer has one: its parserState is the new protocol's.
 */
export class HttpState {
  /** Bytes of the head searched so far for its end (the search resumes just before them). */
  scanned = 0;
  /** The head of the request being received, once parsed. */
  head: RequestHead | undefined = undefined;
  /** The head was a packet of its own (Expect: 100-continue): the packet being received is the body only. */
  bodyOnly = false;
  /** The packet framed last is that head alone: decode() gives CONTINUE_EXPECTED. */
  headPacket = false;
  /** Chunked body: offset (in the packet) of the next chunk-size line. */
  chunkAt = 0;
  /** Chunked body: data bytes so far, and [start, end) pairs of data in the packet. */
  bodyBytes = 0;
  chunkRanges: number[] = [];
  /** Set when the parser refused the request; decode() hands it to the handler. */
  error: ParseError | undefined = undefined;
  /** After an error nothing more is parsed. */
  failed = false;
  readonly queue: QueuedResponse[] = [];
  /** No more responses: the connection closes once the queue is written. */
  closing = false;
  /** The kind of the connection deadline HTTP armed (TIMER_*), TIMER_NONE when none. */
  timer = TIMER_NONE;
  /** ms since epoch when the first byte of the current request arrived. */
  startedAt = 0;
  keepAliveTimeoutMs: number;
  /** Reading was paused because too many requests are in flight (http.Handler's maxRequestsInFlight). */
  held = false;
  /** Read again once no more than this many responses are left in flight. */
  resumeAt = 0;
  /** A request that closes the connection was read: nothing after it is (its pause is for good). */
  lastRequest = false;
  /** Static files open (or being opened) for this connection's responses. */
  files = 0;
  /** Responses waiting for a file slot (created when first needed). */
  fileWaiters: Array<() => void> | undefined = undefined;
  /** Temporary upload files to remove when the connection's responses are done. */
  tempFiles: string[] = [];

  constructor(keepAliveTimeoutMs: number) {
    this.keepAliveTimeoutMs = keepAliveTimeoutMs;
  }

  resetBody(): void {
    this.head = undefined;
    this.bodyOnly = false;
    this.chunkAt = 0;
    this.bodyBytes = 0;
    if (this.chunkRanges.length > 0) this.chunkRanges = [];
  }
}

/** The HTTP state of a connection (undefined before its first byte). */
export function httpStateOf(conn: Endpoint): HttpState | undefined {
  const s = conn.parserState;
  return s instanceof HttpState ? s : undefined;
}

/** Arm the connection's deadline for HTTP (`kind`, `ms` from now). */
export function arm(conn: Endpoint, s: HttpState, kind: number, ms: number): void {
  s.timer = kind;
  conn.setDeadline(ms, kind);
}

/**
 * Disarm HTTP's deadline — also one it only forgot (http.Parser leaves a keep-alive deadline
 * on the wheel when a request arrives whole, for the response to re-arm cheaply).
 */
export function disarm(conn: Endpoint, s: HttpState): void {
  s.timer = TIMER_NONE;
  conn.clearDeadline();
}
