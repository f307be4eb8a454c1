import { createHash } from 'node:crypto';
import {
  BeyodError,
  type CloseEvent,
  type Connection,
  type Encoded,
  ErrorEvent,
  type MessageEvent,
  type ShutdownEvent,
  toError,
} from '@beyod/core';
import { HttpHandler, type HttpRequest, type HttpResponse } from '../http';
import { WebSocketErrorCodes } from './errors';
import { HandshakeEvent, WebSocketCloseEvent } from './events';
import { CloseCode, ControlFrame, Opcode, ProtocolViolation, WebSocketFrame, closePayload, encodeFrame } from './frame';
import { encodeMessage } from './WebSocketFrameParser';
import { WebSocketParser } from './WebSocketParser';
import { WebSocketState, webSocketStateOf } from './state';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** What onMessage gets on a WebSocket connection: a text message as a string, a binary one as a Buffer. */
export type WebSocketMessageEvent = MessageEvent<string | Buffer, Connection>;

/**
 * WebSocket (RFC 6455) server handler, used with websocket.Parser. Override:
 * - onHandshake(event) — a client connected (the 101 was sent);
 * - onMessage(event) — a text (string) or binary (Buffer) message; answer with event.sender.send();
 * - onClose(event) — a WebSocket client left; event.code and event.closeReason.
 * and configure `protocols`, `allowedOrigins` / checkOrigin(), `path`, `heartbeatInterval`.
 *
 * Pings are answered, close frames echoed, protocol errors closed with their code (1002, 1007,
 * 1009) by the handler itself before your methods run. Requests that are not upgrades are HTTP:
 * routes, onRequest and static files from documentRoot work as in http.Handler, so pages and
 * WebSocket can share a port; with neither, they are answered 426 Upgrade Required.
 */
export class WebSocketHandler extends HttpHandler {
  /** Subprotocols this server speaks; the first the client offers that is listed here is chosen. */
  protocols: string[] = [];
  /** Origins allowed to connect (empty = any); see checkOrigin(). */
  allowedOrigins: string[] = [];
  /** Only upgrades to this path are accepted ('' = any path). */
  path = '';
  /** Seconds between heartbeat pings; a client that answered none of the last interval is dropped (0 = off). */
  heartbeatInterval = 0;

  private heartbeat: NodeJS.Timeout | undefined;

  /** A text (string) or binary (Buffer) message from a client. */
  override onMessage(_event: WebSocketMessageEvent): void | Promise<void> {}

  /** A client finished the handshake. */
  onHandshake(_event: HandshakeEvent): void | Promise<void> {}

  /** A WebSocket client left (only upgraded connections reach it). */
  override onClose(_event: WebSocketCloseEvent): void | Promise<void> {}

  /** Whether a handshake from `origin` (undefined when the client sent none) is accepted. */
  checkOrigin(origin: string | undefined, _req: HttpRequest): boolean {
    return this.allowedOrigins.length === 0 || (origin !== undefined && this.allowedOrigins.includes(origin));
  }

  /** The subprotocol to agree on, among those the client offered (undefined = none). */
  selectProtocol(offered: string[], _req: HttpRequest): string | undefined {
    return offered.find((p) => this.protocols.includes(p));
  }

  /** Send a close frame with `code` and `reason`, then close the connection once it is written. */
  close(conn: Connection, code: number = CloseCode.NORMAL, reason = ''): void {
    const ws = webSocketStateOf(conn);
    if (ws === undefined) {
      conn.close();
      return;
    }
    if (ws.closeSent) return;
    ws.closeSent = true;
    if (!ws.closeReceived) {
      ws.closeCode = code;
      ws.closeReason = reason;
    }
    conn.close(new WebSocketFrame(Opcode.CLOSE, closePayload(code, reason)));
  }

  /**
   * Send `data` to every open WebSocket connection of this listener; returns how many. It is
   * encoded once — and, with permessage-deflate, compressed once for all the clients that
   * share compression settings without context takeover (the default), once per client with it.
   */
  broadcast(data: string | Buffer, except?: Connection): number {
    const listener = this.listener;
    if (listener === undefined) return 0;
    const opcode = typeof data === 'string' ? Opcode.TEXT : Opcode.BINARY;
    let plain: Encoded | undefined;
    let bytes: Buffer | undefined;
    let compressed: Map<number, Encoded> | undefined;
    let n = 0;
    for (const conn of listener.connections.values()) {
      if (conn === except) continue;
      const ws = webSocketStateOf(conn);
      if (ws === undefined || ws.closeSent) continue;
      const deflate = ws.deflate;
      let frame: Encoded;
      if (deflate === undefined) frame = plain ??= encodeFrame(opcode, data);
      else {
        bytes ??= typeof data === 'string' ? Buffer.from(data) : data;
        if (!deflate.compresses(bytes.length)) frame = plain ??= encodeFrame(opcode, data);
        else if (!deflate.stateless) frame = encodeMessage(opcode, bytes, deflate);
        else {
          const key = deflate.params.serverWindowBits;
          compressed ??= new Map();
          frame = compressed.get(key) ?? encodeMessage(opcode, bytes, deflate);
          compressed.set(key, frame);
        }
      }
      if (conn.send(frame, true)) n++;
    }
    return n;
  }

  /** The open WebSocket connections of this listener. */
  *clients(): IterableIterator<Connection> {
    const listener = this.listener;
    if (listener === undefined) return;
    for (const conn of listener.connections.values()) {
      const ws = webSocketStateOf(conn);
      if (ws !== undefined && !ws.closeSent) yield conn;
    }
  }

  /** Non-upgrade requests: static files when documentRoot is set, else 426. */
  override onRequest(req: HttpRequest, res: HttpResponse): void | Promise<void> {
    if (this.documentRoot !== '') return super.onRequest(req, res);
    res.status = 426;
    res.setHeader('Upgrade', 'websocket');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('426 Upgrade Required: this is a WebSocket endpoint\n');
  }

  protected override onUpgrade(req: HttpRequest, res: HttpResponse, conn: Connection): boolean {
    if (req.upgrade !== 'websocket') return false;
    const parser = this.listener?.parserInstance;
    if (!(parser instanceof WebSocketParser)) return false;
    const key = req.headers.get('sec-websocket-key') ?? '';
    let problem: [number, string] | undefined;
    if (req.method !== 'GET' || req.httpVersion !== '1.1') problem = [400, 'a WebSocket handshake is a GET over HTTP/1.1'];
    else if (req.headers.get('sec-websocket-version') !== '13') {
      res.setHeader('Sec-WebSocket-Version', '13');
      problem = [426, 'unsupported Sec-WebSocket-Version (13 is)'];
    } else if (!KEY.test(key)) problem = [400, 'missing or malformed Sec-WebSocket-Key'];
    else if (this.path !== '' && req.path !== this.path) problem = [404, `no WebSocket endpoint at ${req.path}`];
    else if (!this.checkOrigin(req.headers.get('origin'), req))
      problem = [403, `origin ${req.headers.get('origin') ?? '(none)'} not allowed`];
    if (problem !== undefined) {
      this.refuseHandshake(conn, res, problem[0], problem[1]);
      return true;
    }
    const offered = (req.headers.get('sec-websocket-protocol') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const protocol = offered.length > 0 ? (this.selectProtocol(offered, req) ?? '') : '';
    res.setHeader(
      'Sec-WebSocket-Accept',
      createHash('sha1')
        .update(key + GUID)
        .digest('base64'),
    );
    if (protocol !== '') res.setHeader('Sec-WebSocket-Protocol', protocol);
    const ws = parser.accept(protocol, req.headers.get('sec-websocket-extensions'));
    if (ws.extensions !== '') res.setHeader('Sec-WebSocket-Extensions', ws.extensions);
    // Frames the client sends right behind its handshake (even in the same packet) are read as frames.
    res.switchProtocols('websocket', parser.frameParser(), ws);
    this.startHeartbeat();
    this.callHook(conn, () => this.onHandshake(new HandshakeEvent(conn, req, protocol)));
    return true;
  }

  private refuseHandshake(conn: Connection, res: HttpResponse, status: number, message: string): void {
    const logger = this.listener?.logger;
    if (logger?.isLevelEnabled('debug'))
      logger.debug({ conn: conn.id, peer: conn.peer, code: WebSocketErrorCodes.HANDSHAKE_REFUSED }, message);
    conn.pause();
    res.closesConnection = true;
    res.status = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`${status} ${message}\n`);
  }

  /**
   * The WebSocket part of onMessage: control frames and violations are handled here, a
   * fragment not yet complete goes no further, messages go on to onMessage. What is not a
   * WebSocket connection's goes on to the HTTP part.
   */
  protected override beforeMessage(event: MessageEvent): boolean {
    const ws = webSocketStateOf(event.sender);
    if (ws === undefined) return super.beforeMessage(event);
    const m = event.message;
    if (typeof m === 'string' || Buffer.isBuffer(m)) return !ws.closeSent;
    const conn = event.sender as Connection;
    if (m instanceof ControlFrame) this.control(conn, ws, m);
    else if (m instanceof ProtocolViolation) this.violation(conn, m);
    return false;
  }

  private control(conn: Connection, ws: WebSocketState, frame: ControlFrame): void {
    if (frame.opcode === Opcode.PING) {
      if (!ws.closeSent) conn.send(new WebSocketFrame(Opcode.PONG, frame.payload));
      return;
    }
    if (frame.opcode !== Opcode.CLOSE) return; // a pong: `alive` is already set by the parser
    ws.closeReceived = true;
    if (!ws.closeSent) {
      ws.closeCode = frame.code;
      ws.closeReason = frame.reason;
      // Echo the code (RFC 6455 5.5.1), or none when the peer sent none.
      this.close(conn, frame.code, '');
    }
    conn.pause();
  }

  private violation(conn: Connection, v: ProtocolViolation): void {
    conn.pause();
    conn.listener.countBadPacket();
    const error = new BeyodError(v.errorCode, `${v.reason} (from ${conn.peer}; closing with ${v.code})`, { code: v.code, peer: conn.peer });
    this.callHook(conn, () => this.onBadPacket(new ErrorEvent(conn, error)));
    this.close(conn, v.code, v.reason);
  }

  /**
   * The WebSocket part of onClose: onClose is called for WebSocket connections only, with the
   * close code and reason (a WebSocketCloseEvent), here — so the event stops after the hook.
   */
  protected override beforeClose(event: CloseEvent): boolean {
    super.beforeClose(event);
    const ws = webSocketStateOf(event.sender);
    if (ws === undefined) return false;
    const conn = event.sender as Connection;
    const closeEvent = new WebSocketCloseEvent(conn, event.reason, event.error, ws.closeCode, ws.closeReason);
    this.callHook(conn, () => this.onClose(closeEvent));
    return false;
  }

  /**
   * The WebSocket part of onShutdown: the worker is going away (stop, reload, recycle, scale).
   * Each client gets a close frame 1001 "going away: <reason>" (RFC 6455 7.4.1) instead of a
   * dropped socket (1006); it answers with its own close and closes the connection, which the
   * worker's drain waits for (up to stopTimeout). Then the application's onShutdown runs.
   */
  protected override beforeShutdown(event: ShutdownEvent): boolean | void {
    const conn = event.sender as Connection;
    if (webSocketStateOf(conn) !== undefined) this.close(conn, CloseCode.GOING_AWAY, `going away: ${event.reason}`);
    return super.beforeShutdown?.(event);
  }

  private startHeartbeat(): void {
    if (this.heartbeatInterval <= 0 || this.heartbeat !== undefined) return;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatInterval * 1000);
    this.heartbeat.unref();
  }

  /** Drop clients silent since the last beat; ping the others. Stops when no client is left. */
  private beat(): void {
    let open = 0;
    for (const conn of this.clients()) {
      const ws = webSocketStateOf(conn) as WebSocketState;
      if (!ws.alive) {
        const err = new BeyodError(
          WebSocketErrorCodes.HEARTBEAT_TIMEOUT,
          `no answer to the heartbeat ping within ${this.heartbeatInterval} s from ${conn.peer}`,
        );
        conn.destroy('idle', err);
        continue;
      }
      ws.alive = false;
      conn.send(new WebSocketFrame(Opcode.PING));
      open++;
    }
    if (open === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** Call a user method; a throw or rejection goes to onError. */
  private callHook(conn: Connection, fn: () => unknown): void {
    const fail = (e: unknown) => {
      const cause = toError(e);
      this.listener?.logger.error({ conn: conn.id, peer: conn.peer, err: cause }, 'websocket handler failed');
      try {
        this.onError(new ErrorEvent(conn, cause));
      } catch {
        /* already logged */
      }
    };
    try {
      const r = fn();
      if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  }
}
