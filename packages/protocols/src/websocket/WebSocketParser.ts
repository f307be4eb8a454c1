import { ConfigError, type Endpoint, toError } from '@beyod/core';
import { HttpParser } from '../http';
import { DeflateContext, type DeflateSettings, type PerMessageDeflateOptions, deflateSettings, negotiateDeflate } from './deflate';
import { parseExtensions } from './extensions';
import { WebSocketState } from './state';
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
