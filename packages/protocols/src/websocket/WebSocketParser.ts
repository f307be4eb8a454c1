import type { Endpoint } from '@beyod/core';
import { HttpParser } from '../http';
import { WebSocketState } from './state';
import { WebSocketFrameParser } from './WebSocketFrameParser';

/**
 * The parser of a WebSocket listener: an http.Parser (a connection starts in HTTP, so the same
 * port serves pages and WebSocket) whose connections websocket.Handler switches, with the 101,
 * to RFC 6455 frames (websocket.WebSocketFrameParser, configured from this parser's
 * `maxPayload` and `maxPacketSize`).
 */
export class WebSocketParser extends HttpParser {
  /** Largest message (all its fragments) in bytes. */
  maxPayload = 1024 * 1024;

  private readonly frames = new WebSocketFrameParser();

  /** The frame parser connections are switched to, with this parser's limits. */
  frameParser(): WebSocketFrameParser {
    const f = this.frames;
    f.maxPayload = this.maxPayload;
    f.maxPacketSize = this.maxPacketSize;
    return f;
  }

  /**
   * Switch a connection to frames without a handshake (websocket.Handler switches it with
   * the 101 through HttpResponse.switchProtocols); for tests and custom handshakes.
   */
  upgrade(conn: Endpoint, protocol: string): WebSocketState {
    const ws = new WebSocketState(protocol);
    this.switchProtocol(conn, this.frameParser(), ws);
    return ws;
  }
}
