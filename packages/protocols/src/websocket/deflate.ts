import * as zlib from 'node:zlib';
import type { ExtensionOffer } from './extensions';

/**
 * permessage-deflate (RFC 7692) options of websocket.Parser (`perMessageDeflate: true` takes
 * every default).
 */
export interface PerMessageDeflateOptions {
  /**
   * Compress each message we send on its own (tell clients `server_no_context_takeover`).
   * Default true: no window is kept per connection for sending, and a broadcast is compressed
   * once for all such clients. false: the last 2^serverMaxWindowBits bytes sent are kept per
   * connection and used as the dictionary of the next message (better ratio for small similar
   * messages; costs that window per connection and more CPU per message — see docs/websocket.md).
   */
  serverNoContextTakeover?: boolean;
  /**
   * Ask clients to compress each message on their own (`client_no_context_takeover`). Default
   * false: a client may refer to its earlier messages, and we keep the last
   * 2^clientMaxWindowBits bytes it sent (compressed) to inflate the next one.
   */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window for what we send: 2^n bytes, n in 8..15. Default 15. */
  serverMaxWindowBits?: number;
  /**
   * Largest LZ77 window asked of clients (8..15). Below 15, a client whose offer does not say it
   * can limit its window (no `client_max_window_bits`) gets no compression. Default 15.
   */
  clientMaxWindowBits?: number;
  /** Messages shorter than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** zlib level, 0..9 (-1 = zlib's default, 6). Default -1. */
  level?: number;
  /** zlib memLevel, 1..9: memory of the compressor's hash tables. Default 8. */
  memLevel?: number;
}

export type DeflateSettings = Required<PerMessageDeflateOptions>;

const DEFAULTS: DeflateSettings = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 1024,
  level: -1,
  memLevel: 8,
};

const RANGES: Record<keyof DeflateSettings, [number, number] | 'boolean'> = {
  serverNoContextTakeover: 'boolean',
  clientNoContextTakeover: 'boolean',
  serverMaxWindowBits: [8, 15],
  clientMaxWindowBits: [8, 15],
  threshold: [0, Number.MAX_SAFE_INTEGER],
  level: [-1, 9],
  memLevel: [1, 9],
};

/**
 * The settings of `perMessageDeflate` (false / undefined = off, true = defaults). Throws an
 * Error naming the key when a value is unknown or out of range.
 */
export function deflateSettings(option: boolean | PerMessageDeflateOptions | undefined): DeflateSettings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return DEFAULTS;
  if (typeof option !== 'object' || option === null) throw new Error(`perMessageDeflate: expected true, false or an object of options`);
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(option)) {
    const range = RANGES[key as keyof DeflateSettings];
    if (range === undefined) throw new Error(`perMessageDeflate.${key}: unknown option (known: ${Object.keys(RANGES).join(', ')})`);
    if (value === undefined) continue;
    if (range === 'boolean' ? typeof value !== 'boolean' : !(Number.isInteger(value) && value >= range[0] && value <= range[1]))
      throw new Error(
        `perMessageDeflate.${key}: expected ${range === 'boolean' ? 'a boolean' : `an integer in ${range[0]}..${range[1]}`}, got ${String(value)}`,
      );
    out[key] = value;
  }
  return out as unknown as DeflateSettings;
}

/** What both sides agreed on for one connection. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverWindowBits: number;
  clientWindowBits: number;
}

const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

/**
 * Pick the first permessage-deflate offer we can accept (RFC 7692 7.1) and build the response.
 * An offer with an unknown or repeated parameter, or an invalid value, is declined (the next
 * one is tried); none accepted = no compression on this connection.
 */
export function negotiateDeflate(offers: ExtensionOffer[], s: DeflateSettings): { params: DeflateParams; response: string } | undefined {
  for (const offer of offers) {
    if (offer.name !== 'permessage-deflate') continue;
    const seen = new Map<string, string | true>();
    let valid = true;
    for (const [key, value] of offer.params) {
      if (seen.has(key)) valid = false;
      seen.set(key, value);
      if (key === 'server_no_context_takeover' || key === 'client_no_context_takeover') valid &&= value === true;
      else if (key === 'server_max_window_bits') valid &&= value !== true && WINDOW_BITS.test(value);
      else if (key === 'client_max_window_bits') valid &&= value === true || WINDOW_BITS.test(value);
      else valid = false;
    }
    if (!valid) continue;
    const clientBitsOffer = seen.get('client_max_window_bits');
    // The client cannot limit its window: decline when we need it to.
    if (clientBitsOffer === undefined && s.clientMaxWindowBits < 15) continue;
    const response = ['permessage-deflate'];
    const serverNoContextTakeover = s.serverNoContextTakeover || seen.has('server_no_context_takeover');
    if (serverNoContextTakeover) response.push('server_no_context_takeover');
    // Offered by the client, it is a promise it will not use context takeover either.
    const clientNoContextTakeover = s.clientNoContextTakeover || seen.has('client_no_context_takeover');
    if (clientNoContextTakeover) response.push('client_no_context_takeover');
    const serverBitsOffer = seen.get('server_max_window_bits');
    const serverWindowBits = Math.min(s.serverMaxWindowBits, serverBitsOffer === undefined ? 15 : Number(serverBitsOffer));
    if (serverBitsOffer !== undefined || serverWindowBits < 15) response.push(`server_max_window_bits=${serverWindowBits}`);
    let clientWindowBits = 15;
    if (clientBitsOffer !== undefined) {
      clientWindowBits = Math.min(s.clientMaxWindowBits, clientBitsOffer === true ? 15 : Number(clientBitsOffer));
      if (clientWindowBits < 15) response.push(`client_max_window_bits=${clientWindowBits}`);
    }
    return {
      params: { serverNoContextTakeover, clientNoContextTakeover, serverWindowBits, clientWindowBits },
      response: response.join('; '),
    };
  }
  return undefined;
}

/** The 4 bytes a sender strips from the end of a compressed message and a receiver appends. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Output chunk of zlib's synchronous loop: the inflated size is checked after each one. */
const CHUNK = 64 * 1024;

/** Why inflate() refused a message. */
export class InflateError extends Error {
  constructor(
    /** True when the message inflated past the limit (1009); false for invalid deflate data (1007). */
    readonly tooBig: boolean,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The last `size` bytes that went through a compressor (or came out of a decompressor): the
 * LZ77 window the peer may refer to with context takeover. Allocated on first use.
 */
class SlidingWindow {
  private buf: Buffer | null = null;
  private length = 0;

  constructor(private readonly size: number) {}

  get bytes(): Buffer | undefined {
    return this.length === 0 ? undefined : (this.buf as Buffer).subarray(0, this.length);
  }

  push(data: Buffer): void {
    const size = this.size;
    const buf = (this.buf ??= Buffer.allocUnsafe(size));
    const n = data.length;
    if (n >= size) {
      data.copy(buf, 0, n - size);
      this.length = size;
    } else if (this.length + n <= size) {
      data.copy(buf, this.length);
      this.length += n;
    } else {
      const keep = size - n;
      buf.copy(buf, 0, this.length - keep, this.length);
      data.copy(buf, keep);
      this.length = size;
    }
  }
}

/**
 * permessage-deflate state of one connection. Compression and decompression are synchronous
 * and one-shot (zlib's *Sync calls): no zlib stream is kept open between messages, so an idle
 * connection holds no zlib memory at all — only, with context takeover, the window of the last
 * bytes (2^bits), used as the preset dictionary of the next message. Messages keep their order
 * with nothing to queue; the cost is a zlib setup per message (measured in docs/websocket.md).
 */
export class DeflateContext {
  private readonly sendWindow: SlidingWindow | undefined;
  private readonly receiveWindow: SlidingWindow | undefined;

  constructor(
    readonly params: DeflateParams,
    readonly settings: DeflateSettings,
  ) {
    if (!params.serverNoContextTakeover) this.sendWindow = new SlidingWindow(1 << params.serverWindowBits);
    if (!params.clientNoContextTakeover) this.receiveWindow = new SlidingWindow(1 << params.clientWindowBits);
  }

  /** Whether a message of `length` bytes is sent compressed. */
  compresses(length: number): boolean {
    return length >= this.settings.threshold;
  }

  /** True when what this connection sends does not depend on what it sent before (shareable). */
  get stateless(): boolean {
    return this.sendWindow === undefined;
  }

  /** The payload of a compressed message (RFC 7692 7.2.1: deflate, sync flush, tail removed). */
  deflate(data: Buffer): Buffer {
    const win = this.sendWindow;
    const out = compress(data, this.params.serverWindowBits, this.settings, win?.bytes);
    win?.push(data);
    return out;
  }

  /**
   * The message a compressed payload stands for, refused as soon as it inflates past `max`
   * bytes (zlib stops after the output chunk that crossed it): a zip bomb costs at most `max`
   * plus one chunk. Throws InflateError.
   */
  inflate(payload: Buffer, max: number): Buffer {
    const win = this.receiveWindow;
    const opts: zlib.ZlibOptions = { finishFlush: zlib.constants.Z_SYNC_FLUSH, chunkSize: CHUNK, maxOutputLength: max };
    const dict = win?.bytes;
    if (dict !== undefined) opts.dictionary = dict;
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(Buffer.concat([payload, TAIL]), opts);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE')
        throw new InflateError(true, `compressed message inflates to more than maxPayload ${max} bytes`);
      throw new InflateError(false, `invalid compressed data: ${err.message}`);
    }
    win?.push(out);
    return out;
  }
}

/** Compress `data` on its own (or with `dictionary`), for a peer whose window is 2^bits. */
export function compress(data: Buffer, bits: number, s: DeflateSettings, dictionary?: Buffer): Buffer {
  const opts: zlib.ZlibOptions = {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    windowBits: bits,
    level: s.level,
    memLevel: s.memLevel,
    chunkSize: data.length < CHUNK ? Math.max(1024, data.length + 64) : CHUNK,
  };
  if (dictionary !== undefined) opts.dictionary = dictionary;
  const out = zlib.deflateRawSync(data, opts);
  // A sync flush ends with an empty stored block, 00 00 ff ff: the receiver puts it back.
  return out.length >= 4 && out[out.length - 4] === 0 && out[out.length - 1] === 0xff ? out.subarray(0, out.length - 4) : out;
}
