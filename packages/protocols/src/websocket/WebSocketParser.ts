import { ConfigError, type Endpoint, HANDOFF_LATER, HANDOFF_NEVER, type Parser, toError } from '@beyod/core';
import { HttpParser } from '../http';
import {
  DeflateContext,
  type DeflateSettings,
  type DeflateSnapshot,
  type PerMessageDeflateOptions,
  deflateSettings,
  negotiateDeflate,
} from './deflate';
import { parseExtensions } from './extensions';
import { PacketKind, WebSocketState, webSocketStateOf } from './state';
import { WebSocketFrameParser } from './WebSocketFrameParser';

/**
 * The parser of a WebSocket listener: an http.Parser (a connection starts in HTTP, so the same
 * port serves pages and WebSocket) whose connections websocket.Handler switches, with the 101,
 * to RFC 6455 frames (websocket.WebSocketFrameParser, configured from this parser's
 * `maxPayload`, `maxFragments` and `perMessageDeflate`).
 *
 * `maxPacketSize` and the other http.Parser options are the HTTP part's (the handshake, and
 * plain requests on a shared port); they do not limit WebSocket messages.
 */
export class WebSocketParser extends HttpParser {
  /** Largest message in bytes: all its fragments, and its inflated size when compressed. Over it: 1009. */
  maxPayload = 1024 * 1024;
  /** Most frames one message may come in (0 = no limit). Over it: 1008. */
  maxFragments = 16 * 1024;
  /**
   * permessage-deflate (RFC 7692): false (the default) = not offered; true = with the default
   * options; or PerMessageDeflateOptions.
   */
  perMessageDeflate: boolean | PerMessageDeflateOptions | undefined = undefined;

  private readonly frames = new WebSocketFrameParser();
  private deflate: DeflateSettings | undefined | null = null;

  /** Check the options (called by the config factory). */
  init(): void {
    this.deflate = null;
    this.deflateSettings();
    for (const key of ['maxPayload', 'maxFragments'] as const) {
      if (!(Number.isSafeInteger(this[key]) && this[key] >= (key === 'maxPayload' ? 1 : 0)))
        throw new ConfigError(`parser.${key}`, `expected an integer >= ${key === 'maxPayload' ? 1 : 0}, got ${String(this[key])}`);
    }
  }

  /** The frame parser connections are switched to, with this parser's limits. */
  frameParser(): WebSocketFrameParser {
    const f = this.frames;
    f.maxPayload = this.maxPayload;
    f.maxFragments = this.maxFragments;
    f.maxPacketSize = this.maxPacketSize;
    return f;
  }

  /**
   * The extensions to agree on for a client that sent `offered` (its Sec-WebSocket-Extensions):
   * the response header value ('' = none) and the state of the new connection.
   */
  accept(protocol: string, offered: string | undefined): WebSocketState {
    const settings = this.deflateSettings();
    if (settings === undefined || offered === undefined) return new WebSocketState(protocol);
    const offers = parseExtensions(offered);
    const agreed = offers === undefined ? undefined : negotiateDeflate(offers, settings);
    if (agreed === undefined) return new WebSocketState(protocol);
    const ws = new WebSocketState(protocol, agreed.response);
    ws.deflate = new DeflateContext(agreed.params, settings);
    return ws;
  }

  /**
   * Switch a connection to frames without a handshake (websocket.Handler switches it with
   * the 101 through HttpResponse.switchProtocols); for tests and custom handshakes.
   * `extensions` is a Sec-WebSocket-Extensions offer to negotiate as a handshake would.
   */
  upgrade(conn: Endpoint, protocol: string, extensions?: string): WebSocketState {
    const ws = this.accept(protocol, extensions);
    this.switchProtocol(conn, this.frameParser(), ws);
    return ws;
  }

  /**
   * Live handoff (a reload): a WebSocket connection moves at a frame boundary — no message
   * half received, no close handshake begun — with its subprotocol, extensions and heartbeat
   * state, and with permessage-deflate its compression windows (context takeover included:
   * compression keeps no zlib stream between messages, only those bytes; see DeflateContext).
   */
  protected override exportSwitched(conn: Endpoint, parser: Parser<unknown, unknown>): unknown {
    const ws = webSocketStateOf(conn);
    if (ws === undefined || parser !== this.frames || ws.failed || ws.closeSent || ws.closeReceived) return HANDOFF_NEVER;
    if (ws.packet !== PacketKind.FRAME || ws.remaining > 0 || ws.messageOpcode !== 0 || ws.fragments !== 0) return HANDOFF_LATER;
    const moved: MovedWebSocket = {
      protocol: ws.protocol,
      extensions: ws.extensions,
      alive: ws.alive,
      deflate: ws.deflate?.snapshot() ?? null,
    };
    return { switched: { websocket: moved } };
  }

  protected override importSwitched(state: unknown, conn: Endpoint): void {
    const moved = (state as { websocket?: MovedWebSocket } | null)?.websocket;
    if (typeof moved !== 'object' || moved === null || typeof moved.protocol !== 'string' || typeof moved.extensions !== 'string')
      throw new Error('not a WebSocket connection state');
    const ws = new WebSocketState(moved.protocol, moved.extensions);
    ws.alive = moved.alive !== false;
    // the client goes on compressing as agreed, whatever this config says now
    if (moved.deflate)
      ws.deflate = DeflateContext.restore(moved.deflate, this.deflateSettings() ?? (deflateSettings(true) as DeflateSettings));
    this.switchProtocol(conn, this.frameParser(), ws);
  }

  private deflateSettings(): DeflateSettings | undefined {
    if (this.deflate !== null) return this.deflate;
    try {
      this.deflate = deflateSettings(this.perMessageDeflate);
    } catch (e) {
      throw new ConfigError('parser', toError(e).message);
    }
    return this.deflate;
  }
}

/** What moves with a WebSocket connection (live handoff). */
interface MovedWebSocket {
  protocol: string;
  extensions: string;
  alive: boolean;
  deflate: DeflateSnapshot | null;
}
