import type { Socket } from 'node:net';
import { DeadlineEntry, type DeadlineOwner, deadlines } from './DeadlineWheel';
import { BeyodError, ErrorCodes, badPacketError, toError } from './errors';
import type { CloseReason, Endpoint, Transport } from './events';
import { type ConnectionCounters, stopReading } from './handoff';
import { Parser, type Encoded } from './Parser';
import { ReceiveBuffer } from './ReceiveBuffer';
import { SendBuffer } from './SendBuffer';

const kEndpoint = Symbol('beyod.endpoint');
type TaggedSocket = Socket & { [kEndpoint]?: BaseConnection };
const EMPTY = Buffer.alloc(0);
/** Until a subclass sets its parser: frames nothing (shared, not one per connection). */
const NO_FRAMING = new Parser<unknown, unknown>();

/**
 * What a server-side Connection and an outbound StreamClient share: the parser loop over a
 * ReceiveBuffer, batched writes, send-buffer limits, pause/resume, close and byte counters.
 * Subclasses decide where messages, errors and closes go (handler methods or events).
 *
 * Memory: a server holds one of these per idle connection, so what is not always needed is
 * made on first use and let go when empty — the receive buffer, the send buffer, the
 * attributes Map, the deadline entry — and defaults that rarely change live on the prototype
 * (bench/connections measures the result against a bare node:net server).
 */
export abstract class BaseConnection implements Endpoint, DeadlineOwner {
  abstract readonly id: number;
  peer = '';
  transport: Transport = 'tcp';
  parserState: unknown = undefined;
  /** Bytes queued for sending above which send() reports a full buffer (see send()). */
  maxSendBuffer = 1024 * 1024;
  /** Seconds close() waits for the peer before destroying the socket (default 5, on the prototype). */
  declare closeTimeout: number;
  messagesIn = 0;
  messagesOut = 0;
  /** Messages dropped because the send buffer was full (drop policy, or trySend()). */
  messagesDropped = 0;
  /** When the current socket connected (ms since epoch). */
  connectedAt = 0;

  protected socket: Socket | null = null;
  protected parser: Parser<unknown, unknown> = NO_FRAMING;
  /** Bytes received and not parsed yet; null when there are none. */
  private rb: ReceiveBuffer | null = null;
  private attrs: Map<string, unknown> | undefined = undefined;
  /** Length of the packet at the head, once input() reported it; 0 while unknown. */
  private packetLength = 0;
  /** input() returned 0 for the whole head: show it more bytes before asking again. */
  private needMore = false;
  /** What was sent this event-loop turn, written together at the end of it (flush()); null when nothing is. */
  private out: SendBuffer | null = null;
  /** Bytes sent in the last turn that sent anything: sizes the next turn's buffer. */
  private lastTurn = 0;
  /** A flush is due: on the next tick, or at the end of the parsing under way (drain()). */
  private flushScheduled = false;
  /** Parsing received bytes (drain()): what is sent meanwhile is written when it is done. */
  private parsing = false;
  /** Over maxSendBuffer, not drained yet. */
  private full = false;
  /** Paused by the user (pause()). */
  private paused = false;
  /** Paused by the send policy: the send buffer is full (see pausesInputWhenFull). */
  private flowPaused = false;
  /** Called when a write made while full is flushed (made once, when first needed). */
  private onMarker: (() => void) | undefined = undefined;
  /** This connection's place on the deadline wheel (made on its first deadline). */
  private dl: DeadlineEntry | undefined = undefined;
  private closing = false;
  private closeReason: CloseReason | undefined;
  private closeError: Error | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private bytesInBefore = 0;
  private bytesOutBefore = 0;
  /** Live handoff: the socket was passed to another process (see _detach). */
  private moved = false;

  /**
   * Under the 'pause' send policy, stop reading input while the send buffer is full. True for
   * server-side connections, whose output is the answer to their input. A client's input is
   * what its peer sends back: it must keep reading, or it would deadlock with a server that
   * waits for it to read before reading more itself. (On the prototype: a class's constant.)
   */
  protected get pausesInputWhenFull(): boolean {
    return true;
  }

  /** Application data attached to this connection (the Map is made on first use). */
  get attributes(): Map<string, unknown> {
    return (this.attrs ??= new Map());
  }

  /** Called with each decoded message. */
  protected abstract dispatchMessage(message: unknown): void;
  /** The parser refused the input; the connection is destroyed right after. */
  protected abstract dispatchBadPacket(error: BeyodError): void;
  protected abstract dispatchError(error: Error): void;
  protected abstract dispatchBufferFull(): void;
  protected abstract dispatchBufferDrain(): void;
  /** The socket is gone; called once per socket. */
  protected abstract dispatchClose(reason: CloseReason, error: Error | undefined): void;

  /**
   * The deadline fired. The default gives it to the parser's onDeadline(); a Connection gives
   * it to its handler when the parser has none. A throw closes this connection (only).
   */
  protected dispatchDeadline(kind: number): void {
    const parser = this.parser;
    if (parser.onDeadline === undefined) return;
    try {
      parser.onDeadline(this, kind);
    } catch (e) {
      const cause = toError(e);
      const error = new BeyodError(
        ErrorCodes.HANDLER_FAILED,
        `parser onDeadline failed: ${cause.message}`,
        { method: 'onDeadline' },
        { cause },
      );
      this.dispatchError(error);
      this.destroy('error', error);
    }
  }

  /** Bytes received, over every socket this endpoint has had. */
  get bytesIn(): number {
    return this.bytesInBefore + (this.socket?.bytesRead ?? 0);
  }

  /** Bytes written, over every socket this endpoint has had. */
  get bytesOut(): number {
    return this.bytesOutBefore + (this.socket?.bytesWritten ?? 0);
  }

  /**
   * True once the connection moved to another worker process (live handoff on a reload): its
   * socket is that process's now, and send() here returns false — the message is refused,
   * not queued.
   */
  get handedOff(): boolean {
    return this.moved;
  }

  /** True while a socket is attached and not closing. */
  get connected(): boolean {
    return this.socket !== null && !this.closing;
  }

  /** Bytes received and not yet parsed into a packet. */
  get receiveBufferLength(): number {
    return this.rb?.length ?? 0;
  }

  /** Bytes queued for sending, not yet handed to the kernel. */
  get sendBufferLength(): number {
    return (this.socket?.writableLength ?? 0) + (this.out?.length ?? 0);
  }

  /** Paused by pause() (the send policy's own pause is not reported here; see isFull). */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * True while the send buffer is over `maxSendBuffer` and has not drained yet: sends are
   * dropped under the 'drop' policy, queued under 'pause' (input is then paused), and
   * trySend() drops. Cheap: check it before building a message you would skip anyway.
   */
  get isFull(): boolean {
    return this.full;
  }

  protected attachSocket(socket: Socket): void {
    this.socket = socket;
    this.closing = false;
    this.closeReason = undefined;
    this.closeError = undefined;
    this.full = false;
    this.flowPaused = false;
    this.out = null;
    this.packetLength = 0;
    this.needMore = false;
    this.parserState = undefined;
    this.rb = null;
    this.connectedAt = Date.now();
    (socket as TaggedSocket)[kEndpoint] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    if (this.paused) socket.pause();
  }

  /** @internal Close the connection after `ms` without traffic either way (the listener's idleTimeout). */
  _setIdleTimeout(ms: number): void {
    const socket = this.socket;
    if (socket === null) return;
    socket.setTimeout(ms);
    socket.on('timeout', onSocketTimeout);
  }

  /** @internal Feed received bytes through the parser; the hot path. */
  _receive(chunk: Buffer): void {
    if (this.closing) return;
    (this.rb ??= new ReceiveBuffer()).push(chunk);
    this.drain();
  }

  /**
   * Parse what was received, while allowed; an emptied receive buffer is let go. What the
   * messages' handlers sent is written when the parsing is done (one write for the read, as
   * at the end of the turn, without a tick of its own); a drain inside a drain (resume() from a
   * handler) leaves it to the outer one.
   */
  private drain(): void {
    const rb = this.rb;
    if (rb === null) return;
    const outer = this.parsing;
    this.parsing = true;
    try {
      this.parse(rb);
    } finally {
      this.parsing = outer;
    }
    if (rb.length === 0 && this.rb === rb) this.rb = null;
    if (!outer && this.flushScheduled) this.flush();
  }

  private parse(rb: ReceiveBuffer): void {
    let parser = this.parser;
    let max = parser.maxPacketSize;
    let fast = parser.inputAt !== undefined && parser.decodeAt !== undefined;
    while (rb.length > 0 && !this.paused && !this.flowPaused && !this.closing) {
      let n = this.packetLength;
      if (n === 0) {
        if (this.needMore) {
          if (rb.contiguous === rb.length) return;
          this.needMore = false;
          rb.extend();
        }
        try {
          n = fast ? parser.inputAt!(rb.raw, rb.start, rb.end, this) : parser.input(rb.view(), this);
        } catch (e) {
          this.badPacket(badPacketError(e));
          return;
        }
        if (n === 0) {
          if (max > 0 && rb.contiguous >= max) {
            this.badPacket(tooLarge(rb.contiguous, max, this.peer, true));
            return;
          }
          // The parser saw only the head: show it more of what was received, if any.
          if (rb.contiguous < rb.length) {
            rb.extend();
            continue;
          }
          this.needMore = true;
          return;
        }
        if (!(n > 0) || !Number.isSafeInteger(n)) {
          this.badPacket(
            new BeyodError(ErrorCodes.BAD_PACKET, `bad packet from ${this.peer}: parser input() returned ${n}`, {
              peer: this.peer,
              result: n,
            }),
          );
          return;
        }
        if (max > 0 && n > max) {
          this.badPacket(tooLarge(n, max, this.peer, false));
          return;
        }
        this.packetLength = n;
      }
      // Wait for the whole packet without allocating for it: its length is the peer's claim.
      if (rb.length < n) return;
      // Now it is all here: copy it into one buffer only if it spans chunks.
      rb.gather(n);
      this.packetLength = 0;
      let message: unknown;
      try {
        if (fast) {
          const start = rb.start;
          const raw = rb.raw;
          rb.skip(n);
          message = parser.decodeAt!(raw, start, n, this);
        } else {
          message = parser.decode(rb.take(n), this);
        }
      } catch (e) {
        this.badPacket(badPacketError(e));
        return;
      }
      this.messagesIn++;
      this.dispatchMessage(message);
      if (this.parser !== parser) {
        // the message switched protocols (_switchParser): what follows is the new parser's
        parser = this.parser;
        max = parser.maxPacketSize;
        fast = parser.inputAt !== undefined && parser.decodeAt !== undefined;
      }
    }
  }

  /**
   * @internal Hand this connection to another protocol for good (HTTP's 101 Switching
   * Protocols): what is received from now on — and what was received but not parsed yet — is
   * framed and decoded by `parser`, what is sent is encoded by it, and `state` is its
   * parserState. The connection calls the new parser itself (its fast paths included), rather
   * than the old one forwarding every byte and message to it.
   */
  _switchParser(parser: Parser<unknown, unknown>, state: unknown): void {
    this.parser = parser;
    this.parserState = state;
    this.packetLength = 0;
    this.needMore = false;
  }

  /**
   * The parser refused the input: nothing more is parsed from this connection, the handler is
   * told (it may send an error answer), then the connection is closed — gracefully, so the
   * answers to the packets before the bad one, already queued, still reach the peer.
   */
  private badPacket(error: BeyodError): void {
    this.rb?.clear();
    this.packetLength = 0;
    this.needMore = false;
    this.closeReason ??= 'bad-packet';
    this.closeError ??= error;
    this.dispatchBadPacket(error);
    this.end();
  }

  /**
   * Encode `message` with the parser (or send it as it is when `raw`) and queue it. Everything
   * sent in one event-loop turn is written at the end of the turn in one system call (what the
   * handlers of a read's messages send: as soon as the read is parsed, without waiting for a
   * tick — the write a node:net server would make in its 'data' listener): small
   * messages are joined into one buffer (a write call per message costs more than copying a
   * few hundred bytes), large ones are passed as they are.
   *
   * What happens past `maxSendBuffer` is the parser's `sendPolicy`:
   * - 'pause' (the default): the message is always queued; once the buffer is over the limit
   *   onBufferFull fires and the connection stops reading input until it drains
   *   (onBufferDrain), then reads again — a user's pause() is kept;
   * - 'drop': while the buffer is over the limit the message is dropped, counted in
   *   `messagesDropped` (and the listener's stats) and reported to onError
   *   (BEYOD_SEND_BUFFER_FULL).
   *
   * Returns false when the message was not sent (not connected, or dropped), and also when
   * the buffer is over the limit after it: stop sending until onBufferDrain.
   */
  send(message: unknown, raw = false): boolean {
    const socket = this.socket;
    if (socket === null || this.closing || socket.destroyed) return false;
    if (this.full && this.parser.sendPolicy === 'drop') {
      this.messagesDropped++;
      this.dispatchError(
        new BeyodError(
          ErrorCodes.SEND_BUFFER_FULL,
          `send buffer of ${this.peer} is over maxSendBuffer ${this.maxSendBuffer}; message dropped`,
          {
            peer: this.peer,
            maxSendBuffer: this.maxSendBuffer,
          },
        ),
      );
      return false;
    }
    return this.queue(socket, message, raw);
  }

  /**
   * Send `message` unless the send buffer is full; when it is, drop it (counted in
   * `messagesDropped`, no error) and return false — whatever the send policy. For messages
   * that may be skipped for a slow peer (a delivery, a progress update), on a connection whose
   * other messages (answers) must never be dropped.
   */
  trySend(message: unknown, raw = false): boolean {
    const socket = this.socket;
    if (socket === null || this.closing || socket.destroyed) return false;
    if (this.full) {
      this.messagesDropped++;
      return false;
    }
    return this.queue(socket, message, raw);
  }

  private queue(socket: Socket, message: unknown, raw: boolean): boolean {
    const out = (this.out ??= new SendBuffer(this.lastTurn));
    const parser = this.parser;
    if (!raw && parser.encodeTo !== undefined) {
      parser.encodeTo(message, out, this);
    } else {
      const data = raw ? (message as Encoded) : parser.encode(message, this);
      if (typeof data === 'string') out.appendString(data);
      else if (Buffer.isBuffer(data)) out.appendBuffer(data);
      else
        for (const part of data) {
          if (typeof part === 'string') out.appendString(part);
          else out.appendBuffer(part);
        }
    }
    this.messagesOut++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // sent while parsing: drain() writes it when done; else at the end of this turn
      if (!this.parsing) process.nextTick(flushSoon, this);
    }
    if (!this.full && socket.writableLength + out.length > this.maxSendBuffer) {
      this.full = true;
      if (this.pausesInputWhenFull && this.parser.sendPolicy === 'pause') {
        this.flowPaused = true;
        socket.pause();
      }
      this.dispatchBufferFull();
    }
    return !this.full;
  }

  /** Write what send() queued. Runs once per read parsed or event-loop turn (and before a close). */
  protected flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    const out = this.out;
    if (out === null) return;
    // let the send buffer go with the data: an idle connection holds none
    this.out = null;
    this.lastTurn = out.length;
    if (socket === null || socket.destroyed) return;
    // the common turn: one string, written as it is (no array for it)
    const one = out.takeString();
    if (one !== null) socket.write(one);
    else {
      const parts = out.take();
      if (parts.length === 1) socket.write(parts[0]!);
      else if (parts.length > 1) {
        socket.cork();
        for (const p of parts) socket.write(p);
        socket.uncork();
      }
    }
    // While full, each flush ends with a marker: when the last one is written out, the
    // buffer is empty (drained).
    if (this.full) socket.write(EMPTY, (this.onMarker ??= () => this.markerWritten()));
  }

  private markerWritten(): void {
    const socket = this.socket;
    if (!this.full || socket === null || socket.writableLength > 0 || this.out !== null) return;
    this.full = false;
    if (this.closing) return;
    const resumeInput = this.flowPaused;
    this.flowPaused = false;
    this.dispatchBufferDrain();
    // Read again — unless the drain handler filled the buffer again, or the user paused.
    if (resumeInput && !this.flowPaused && !this.paused) this.resumeInput();
  }

  /** Parse what is already buffered, then read from the socket again (if still allowed). */
  private resumeInput(): void {
    this.drain();
    if (!this.paused && !this.flowPaused && !this.closing) this.socket?.resume();
  }

  /**
   * Arm this connection's one deadline `ms` milliseconds from now, tagged `kind` (a number
   * the protocol chooses, e.g. head / body / idle), replacing any deadline armed before. When
   * it passes, the parser's onDeadline(connection, kind) is called — or, when the parser has
   * none, the handler's onDeadline(event). Cheap enough to re-arm per request: one shared
   * timing wheel per process, no timer object (see DeadlineWheel); fires at most ~50 ms late.
   * Cleared when the connection closes.
   */
  setDeadline(ms: number, kind = 0): void {
    if (this.socket === null) return;
    deadlines.arm((this.dl ??= new DeadlineEntry(this)), Date.now() + (ms > 0 ? ms : 0), kind);
  }

  /** Disarm the deadline (nothing happens if none is armed). */
  clearDeadline(): void {
    if (this.dl !== undefined) deadlines.clear(this.dl);
  }

  /** When the deadline passes (ms since epoch), 0 when none is armed. */
  get deadline(): number {
    return this.dl?.at ?? 0;
  }

  /** The `kind` of the armed deadline (meaningful while `deadline` is not 0). */
  get deadlineKind(): number {
    const dl = this.dl;
    return dl !== undefined && dl.at !== 0 ? dl.kind : 0;
  }

  /** @internal the deadline wheel's callback. */
  _deadlineExpired(kind: number): void {
    if (this.socket === null || this.closing) return;
    this.dispatchDeadline(kind);
  }

  /**
   * Stop reading (and parsing) until resume(). Independent of the send policy's own pause:
   * a connection paused by the user stays paused when its send buffer drains.
   */
  pause(): void {
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.flowPaused) this.resumeInput();
  }

  /** Send `message` if given, then close gracefully (queued data is flushed first). */
  close(message?: unknown): void {
    if (this.socket === null || this.closing) return;
    if (message !== undefined) this.send(message);
    this.closeReason ??= 'local';
    this.end();
  }

  /** Flush, send FIN, stop parsing; the socket is destroyed if the peer lingers. */
  private end(): void {
    const socket = this.socket;
    if (socket === null || this.closing) return;
    this.closing = true;
    this.flush();
    // Keep reading (and discarding) so the peer's FIN is seen even if we were paused.
    socket.resume();
    socket.end();
    this.closeTimer = setTimeout(() => socket.destroy(), this.closeTimeout * 1000);
    this.closeTimer.unref();
  }

  /** Close at once, dropping anything queued. */
  destroy(reason: CloseReason = 'local', error?: Error): void {
    const socket = this.socket;
    if (socket === null) return;
    this.closeReason ??= reason;
    if (error) this.closeError ??= error;
    this.closing = true;
    socket.destroy();
  }

  /**
   * @internal Live handoff: whether this connection may move now — connected, not paused (by
   * the user or the send policy), nothing over maxSendBuffer, and everything sent so far
   * handed to the kernel (what send() queued this turn is written first).
   */
  _quiet(): boolean {
    const socket = this.socket;
    if (socket === null || this.closing || socket.destroyed) return false;
    if (this.paused || this.flowPaused || this.full) return false;
    if (this.flushScheduled) this.flush();
    return socket.writableLength === 0 && socket.readableLength === 0;
  }

  /**
   * @internal Live handoff: take the socket away from this endpoint for another process. Reads
   * stop at the kernel (what the peer sends next waits there), what send() queued is written,
   * the socket's listeners go, and what was received but not parsed is returned with the armed
   * deadline. The endpoint is closed for good afterwards (send() returns false), without a
   * close event. The caller passes the socket on once `socket.writableLength` is 0.
   */
  _detach(): { socket: Socket; unparsed: Buffer | null; deadline: { in: number; kind: number } | null } {
    const socket = this.socket as Socket;
    stopReading(socket);
    if (this.flushScheduled) this.flush();
    (socket as TaggedSocket)[kEndpoint] = undefined;
    socket.off('data', onSocketData);
    socket.off('error', onSocketError);
    socket.off('close', onSocketClose);
    socket.off('timeout', onSocketTimeout);
    socket.on('error', ignoreError); // while its last writes finish: the mover sees the failure through write()'s callback
    socket.setTimeout(0);
    const rb = this.rb;
    const unparsed = rb !== null && rb.length > 0 ? rb.copyAll() : null;
    const dl = this.dl;
    const deadline = dl !== undefined && dl.at !== 0 ? { in: Math.max(0, dl.at - Date.now()), kind: dl.kind } : null;
    this.clearDeadline();
    this.bytesInBefore += socket.bytesRead;
    this.bytesOutBefore += socket.bytesWritten;
    this.socket = null;
    this.moved = true;
    this.rb = null;
    this.out = null;
    this.packetLength = 0;
    this.needMore = false;
    this.full = false;
    this.flowPaused = false;
    return { socket, unparsed, deadline };
  }

  /** @internal Live handoff, in the process it moved to: the counters it had there. */
  _restore(h: ConnectionCounters & { connectedAt: number }): void {
    this.connectedAt = h.connectedAt;
    this.messagesIn = h.messagesIn;
    this.messagesOut = h.messagesOut;
    this.messagesDropped = h.messagesDropped;
    this.bytesInBefore = h.bytesIn;
    this.bytesOutBefore = h.bytesOut;
  }

  /** @internal */
  _onSocketError(err: Error): void {
    this.closeReason ??= 'error';
    this.closeError ??= err;
    this.dispatchError(err);
  }

  /** @internal */
  _onSocketClose(socket: Socket): void {
    if (this.socket !== socket) return;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.bytesInBefore += socket.bytesRead;
    this.bytesOutBefore += socket.bytesWritten;
    (socket as TaggedSocket)[kEndpoint] = undefined;
    this.clearDeadline();
    this.socket = null;
    this.closing = false;
    this.full = false;
    this.flowPaused = false;
    this.out = null;
    this.rb = null;
    this.packetLength = 0;
    this.needMore = false;
    const reason = this.closeReason ?? 'peer';
    this.dispatchClose(reason, this.closeError);
  }

  /** @internal */
  _onSocketTimeout(): void {
    this.destroy('idle');
  }

  /** @internal */
  _flushSoon(): void {
    if (this.flushScheduled) this.flush();
  }
}

(BaseConnection.prototype as { closeTimeout: number }).closeTimeout = 5;

// Socket listeners are module-level functions, not closures per connection.
function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  const ep = this[kEndpoint];
  if (ep) ep._receive(chunk);
}
function onSocketError(this: TaggedSocket, err: Error): void {
  this[kEndpoint]?._onSocketError(err);
}
function onSocketClose(this: TaggedSocket): void {
  this[kEndpoint]?._onSocketClose(this);
}
function onSocketTimeout(this: TaggedSocket): void {
  this[kEndpoint]?._onSocketTimeout();
}
function ignoreError(): void {}
function flushSoon(ep: BaseConnection): void {
  ep._flushSoon();
}

function tooLarge(n: number, max: number, peer: string, unbounded: boolean): BeyodError {
  const what = unbounded ? `${n} bytes without a packet boundary reach` : `a packet of ${n} bytes exceeds`;
  return new BeyodError(ErrorCodes.PACKET_TOO_LARGE, `${what} maxPacketSize ${max} (from ${peer})`, { size: n, maxPacketSize: max, peer });
}
