import * as zlib from 'node:zlib';
import { websocket } from '@beyod/protocols';
import { LoopHarness } from 'test-helpers';
import { deflateSettings, negotiateDeflate } from '../src/websocket/deflate';
import { parseExtensions } from '../src/websocket/extensions';
import { clientFrame, serverFrames } from './websocketTestUtil';

const { Opcode, ProtocolViolation } = websocket;
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/** A harness upgraded with permessage-deflate negotiated from `offer`. */
function upgraded(offer = 'permessage-deflate', props: Partial<websocket.WebSocketParser> = {}) {
  const p = Object.assign(new websocket.Parser(), { perMessageDeflate: true }, props);
  const h = new LoopHarness(p);
  const state = p.upgrade(h, '', offer);
  return { p, h, state };
}

const data = (h: LoopHarness) => h.messages.filter((m) => typeof m !== 'symbol');
const violation = (h: LoopHarness) => h.messages.find((m): m is websocket.ProtocolViolation => m instanceof ProtocolViolation);

/** What a client sends for `text` compressed on its own: deflate, sync flush, tail removed. */
function compressed(text: string | Buffer, opts: zlib.ZlibOptions = {}): Buffer {
  const out = zlib.deflateRawSync(Buffer.from(text), { ...SYNC, ...opts });
  return out.subarray(0, out.length - 4);
}

/** A client deflater with context takeover: each call compresses one message. */
function clientDeflater() {
  const d = zlib.createDeflateRaw();
  return async (text: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    const onData = (b: Buffer) => parts.push(b);
    d.on('data', onData);
    d.write(Buffer.from(text));
    await new Promise<void>((resolve) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    d.off('data', onData);
    const out = Buffer.concat(parts);
    return out.subarray(0, out.length - 4);
  };
}

describe('Sec-WebSocket-Extensions', () => {
  it('parses offers with parameters, quoted values and several extensions', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10" , foo')).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
      { name: 'foo', params: [] },
    ]);
  });

  it.each(['permessage-deflate;', 'permessage-deflate; a=', 'permessage-deflate; a="b', 'perm"essage', '; x', 'a; b="c d"'])(
    'refuses the malformed value %j',
    (header) => {
      expect(parseExtensions(header)).toBeUndefined();
    },
  );
});

describe('permessage-deflate negotiation (RFC 7692 7.1)', () => {
  const defaults = deflateSettings(true)!;
  const agree = (header: string, settings = defaults) => negotiateDeflate(parseExtensions(header)!, settings)?.response;

  it.each([
    ['permessage-deflate', 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_max_window_bits', 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_no_context_takeover', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
    ['permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10'],
    ['permessage-deflate; client_max_window_bits=9', 'permessage-deflate; server_no_context_takeover; client_max_window_bits=9'],
    // declined offers: unknown or repeated parameter, bad value; the next offer is taken
    ['permessage-deflate; foo, permessage-deflate', 'permessage-deflate; server_no_context_takeover'],
    [
      'permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=8',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=8',
    ],
    ['permessage-deflate; server_max_window_bits', undefined],
    ['permessage-deflate; server_max_window_bits=010', undefined],
    ['permessage-deflate; server_no_context_takeover=1', undefined],
    ['permessage-deflate; client_no_context_takeover; client_no_context_takeover', undefined],
    ['x-webkit-deflate-frame', undefined],
  ])('%s → %s', (offer, response) => {
    expect(agree(offer)).toBe(response);
  });

  it('with context takeover and smaller windows configured', () => {
    const s = deflateSettings({
      serverNoContextTakeover: false,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 10,
    })!;
    expect(agree('permessage-deflate; client_max_window_bits', s)).toBe(
      'permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10',
    );
    expect(agree('permessage-deflate; server_max_window_bits=9; client_max_window_bits=8', s)).toBe(
      'permessage-deflate; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
    );
    // a client that cannot limit its window is declined when we need it to
    expect(agree('permessage-deflate', s)).toBeUndefined();
    // a client asking for no server context takeover gets it
    expect(agree('permessage-deflate; server_no_context_takeover; client_max_window_bits', s)).toMatch(/server_no_context_takeover/);
  });

  it('refuses bad options with a message naming the key', () => {
    expect(() => deflateSettings({ serverMaxWindowBits: 16 })).toThrow(
      'perMessageDeflate.serverMaxWindowBits: expected an integer in 8..15, got 16',
    );
    expect(() => deflateSettings({ windowBits: 15 } as never)).toThrow('perMessageDeflate.windowBits: unknown option');
    const p = Object.assign(new websocket.Parser(), { perMessageDeflate: { level: 12 } });
    expect(() => p.init()).toThrow(/parser: perMessageDeflate.level/);
  });

  it('nothing is agreed when the parser does not offer it, or the client did not ask', () => {
    expect(new websocket.Parser().accept('', 'permessage-deflate').extensions).toBe('');
    expect(Object.assign(new websocket.Parser(), { perMessageDeflate: true }).accept('', undefined).deflate).toBeUndefined();
  });
});

describe('permessage-deflate messages', () => {
  it('inflates compressed text and binary messages, single-frame and fragmented; uncompressed ones pass', () => {
    const { h } = upgraded();
    h.push(clientFrame(Opcode.TEXT, compressed('héllo héllo héllo'), { rsv: 4 }));
    h.push(clientFrame(Opcode.BINARY, compressed(Buffer.from([1, 2, 3, 1, 2, 3])), { rsv: 4 }));
    h.push(clientFrame(Opcode.TEXT, 'plain'));
    const c = compressed('fragmented and compressed '.repeat(20));
    h.push(clientFrame(Opcode.TEXT, c.subarray(0, 10), { rsv: 4, fin: false }));
    h.push(clientFrame(Opcode.PING, 'between'));
    h.push(clientFrame(Opcode.CONTINUATION, c.subarray(10, 11), { fin: false }));
    h.push(clientFrame(Opcode.CONTINUATION, c.subarray(11)));
    const big = Buffer.alloc(300_000, 'large frame read in pieces ');
    h.push(clientFrame(Opcode.BINARY, compressed(big, { level: 0 }), { rsv: 4 }));
    expect(violation(h)).toBeUndefined();
    const got = data(h).filter((m) => !(m instanceof websocket.ControlFrame));
    expect(got.slice(0, 4)).toEqual([
      'héllo héllo héllo',
      Buffer.from([1, 2, 3, 1, 2, 3]),
      'plain',
      'fragmented and compressed '.repeat(20),
    ]);
    expect((got[4] as Buffer).equals(big)).toBe(true);
  });

  it('client context takeover: a message that refers to the previous one inflates', async () => {
    const { h } = upgraded('permessage-deflate; client_max_window_bits');
    const deflate = clientDeflater();
    const texts = [
      '{"user":"alice","text":"hello everybody"}',
      '{"user":"alice","text":"hello everybody again"}',
      'x'.repeat(40_000),
      'x'.repeat(100),
    ];
    for (const t of texts) h.push(clientFrame(Opcode.TEXT, await deflate(t), { rsv: 4 }));
    expect(violation(h)).toBeUndefined();
    expect(data(h)).toEqual(texts);
  });

  it('a compressed message inflating past maxPayload is refused with 1009 while inflating (zip bomb)', () => {
    const { h } = upgraded('permessage-deflate', { maxPayload: 1024 * 1024 });
    const bomb = compressed(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(80_000);
    const before = process.memoryUsage().arrayBuffers;
    h.push(clientFrame(Opcode.BINARY, bomb, { rsv: 4 }));
    expect(violation(h)).toMatchObject({
      code: 1009,
      errorCode: 'BEYOD_WS_MESSAGE_TOO_BIG',
      reason: 'compressed message inflates to more than maxPayload 1048576 bytes',
    });
    // what was inflated is bounded by maxPayload plus one output chunk, not 64 MiB
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it.each([
    ['invalid deflate data', 1007, () => clientFrame(Opcode.TEXT, Buffer.from([0xff, 0xff, 0xff]), { rsv: 4 })],
    ['inflated text that is not UTF-8', 1007, () => clientFrame(Opcode.TEXT, compressed(Buffer.from([0x61, 0xff])), { rsv: 4 })],
    [
      'RSV1 on a continuation frame',
      1002,
      () => Buffer.concat([clientFrame(Opcode.TEXT, 'a', { fin: false }), clientFrame(Opcode.CONTINUATION, 'b', { rsv: 4 })]),
    ],
    ['RSV1 on a control frame', 1002, () => clientFrame(Opcode.PING, 'p', { rsv: 4 })],
    ['RSV2', 1002, () => clientFrame(Opcode.TEXT, 'x', { rsv: 2 })],
  ])('refuses %s with %i', (_name, code, make) => {
    const { h } = upgraded();
    h.push(make());
    expect(violation(h)?.code).toBe(code);
  });

  it('invalid deflate data is reported as BEYOD_WS_INVALID_COMPRESSED_DATA', () => {
    const { h } = upgraded();
    h.push(clientFrame(Opcode.BINARY, Buffer.from([0xff, 0xff, 0xff]), { rsv: 4 }));
    expect(violation(h)).toMatchObject({ code: 1007, errorCode: 'BEYOD_WS_INVALID_COMPRESSED_DATA' });
  });

  it('RSV1 is refused when permessage-deflate was not agreed', () => {
    const p = Object.assign(new websocket.Parser(), { perMessageDeflate: true });
    const h = new LoopHarness(p);
    p.upgrade(h, '');
    h.push(clientFrame(Opcode.TEXT, compressed('x'), { rsv: 4 }));
    expect(violation(h)?.code).toBe(1002);
  });

  it('sends messages over threshold compressed (RSV1), shorter ones as they are', () => {
    const { p, h } = upgraded('permessage-deflate', { perMessageDeflate: { threshold: 100 } });
    const small = Buffer.concat((p.encode('short', h) as Array<Buffer | string>).map((x) => Buffer.from(x)));
    expect(small[0]).toBe(0x81);
    const text = 'compress me '.repeat(50);
    const wire = Buffer.concat((p.encode(text, h) as Array<Buffer | string>).map((x) => Buffer.from(x)));
    expect(wire[0]).toBe(0xc1);
    const [[opcode, payload]] = serverFrames(wire) as [[number, Buffer]];
    expect(opcode).toBe(Opcode.TEXT);
    expect(payload.length).toBeLessThan(100);
    expect(zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), SYNC).toString()).toBe(text);
  });

  it('server context takeover: a later message refers to the earlier ones, and a client inflater keeping its window reads them', async () => {
    const { p, h } = upgraded('permessage-deflate', { perMessageDeflate: { serverNoContextTakeover: false, threshold: 0 } });
    expect(h.parserState).toMatchObject({ extensions: 'permessage-deflate' });
    const inflater = zlib.createInflateRaw();
    const read = async (wire: Buffer): Promise<string> => {
      const [[, payload]] = serverFrames(wire) as [[number, Buffer]];
      const parts: Buffer[] = [];
      const onData = (b: Buffer) => parts.push(b);
      inflater.on('data', onData);
      inflater.write(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]));
      await new Promise<void>((resolve) => inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      inflater.off('data', onData);
      return Buffer.concat(parts).toString();
    };
    const msg = '{"user":"alice","text":"the same words again and again"}';
    const first = Buffer.concat((p.encode(msg, h) as Array<Buffer | string>).map((x) => Buffer.from(x)));
    const second = Buffer.concat((p.encode(msg, h) as Array<Buffer | string>).map((x) => Buffer.from(x)));
    expect(second.length).toBeLessThan(first.length / 2);
    expect(await read(first)).toBe(msg);
    expect(await read(second)).toBe(msg);
    inflater.close();
  });
});
