import { http, websocket } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';
import { unmask, unmaskInto, unmaskRange } from '../src/websocket/frame';
import { clientFrame } from './websocketTestUtil';

const { Opcode, ControlFrame, ProtocolViolation } = websocket;

/** A harness whose connection already did its handshake. */
function upgraded(props: Partial<websocket.WebSocketParser> = {}): LoopHarness {
  const p = Object.assign(new websocket.Parser(), props);
  const h = new LoopHarness(p);
  p.upgrade(h, '');
  return h;
}

/** Decoded messages, without the marker decode() gives for a fragment of a message not yet complete. */
const data = (h: LoopHarness) => h.messages.filter((m) => typeof m !== 'symbol');
const violation = (h: LoopHarness) => h.messages.find((m): m is websocket.ProtocolViolation => m instanceof ProtocolViolation);

describe('websocket parser', () => {
  it('text and binary frames with 7-, 16- and 64-bit lengths', () => {
    const h = upgraded();
    const sizes = [0, 125, 126, 65535, 65536, 70000];
    for (const n of sizes) h.push(clientFrame(Opcode.TEXT, 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2)));
    h.push(clientFrame(Opcode.BINARY, Buffer.from([0, 1, 2, 255])));
    h.push(clientFrame(Opcode.TEXT, 'small but 64-bit', { len64: true }));
    const got = data(h);
    expect(got.slice(0, sizes.length).map((m) => Buffer.byteLength(m as string))).toEqual(sizes);
    expect(got[sizes.length]).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(got[sizes.length + 1]).toBe('small but 64-bit');
  });

  it('joins fragments, with a control frame between them; a character split across fragments is fine', () => {
    const h = upgraded();
    const euro = Buffer.from('€'); // 3 bytes, split 1 + 2
    h.push(clientFrame(Opcode.TEXT, Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]), { fin: false }));
    h.push(clientFrame(Opcode.PING, 'mid'));
    h.push(clientFrame(Opcode.CONTINUATION, euro.subarray(1), { fin: false }));
    h.push(clientFrame(Opcode.CONTINUATION, 'z', { fin: true }));
    const got = data(h);
    expect(got[0]).toBeInstanceOf(ControlFrame);
    expect((got[0] as websocket.ControlFrame).payload.toString()).toBe('mid');
    expect(got[1]).toBe('a€z');
  });

  it('yields every frame whatever the split (every offset)', () => {
    const frames = () => [
      clientFrame(Opcode.TEXT, 'one'),
      clientFrame(Opcode.BINARY, Buffer.alloc(300, 1)),
      clientFrame(Opcode.TEXT, 'fr', { fin: false }),
      clientFrame(Opcode.CONTINUATION, 'ag'),
      clientFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
    ];
    const len = Buffer.concat(frames()).length;
    for (let cut = 1; cut < len; cut += 3) {
      for (let cut2 = cut; cut2 < len; cut2 += 29) {
        const h = upgraded();
        for (const c of splitAt(Buffer.concat(frames()), [cut, cut2])) h.push(c);
        const got = data(h);
        expect(got.slice(0, 3).map((m) => (Buffer.isBuffer(m) ? m.length : m))).toEqual(['one', 300, 'frag']);
        expect(got[3]).toMatchObject({ opcode: Opcode.CLOSE, code: 1000, reason: 'bye' });
      }
    }
  });

  it('parses 10,000 pipelined frames from one chunk', () => {
    const h = upgraded();
    h.push(Buffer.concat(Array.from({ length: 10_000 }, (_, i) => clientFrame(Opcode.TEXT, `m${i}`))));
    expect(h.messages).toHaveLength(10_000);
    expect(h.messages[9999]).toBe('m9999');
  });

  it.each([
    ['an unmasked frame', 1002, () => clientFrame(Opcode.TEXT, 'x', { mask: false })],
    ['RSV bits', 1002, () => clientFrame(Opcode.TEXT, 'x', { rsv: 4 })],
    ['a reserved data opcode', 1002, () => clientFrame(3, 'x')],
    ['a reserved control opcode', 1002, () => clientFrame(11, 'x')],
    ['a control frame over 125 bytes', 1002, () => clientFrame(Opcode.PING, Buffer.alloc(126))],
    ['a fragmented control frame', 1002, () => clientFrame(Opcode.PING, 'x', { fin: false })],
    ['a continuation without a message', 1002, () => clientFrame(Opcode.CONTINUATION, 'x')],
    [
      'a new message inside a fragmented one',
      1002,
      () => Buffer.concat([clientFrame(Opcode.TEXT, 'a', { fin: false }), clientFrame(Opcode.TEXT, 'b')]),
    ],
    ['invalid UTF-8 text', 1007, () => clientFrame(Opcode.TEXT, Buffer.from([0x61, 0xff, 0x62]))],
    [
      'invalid UTF-8 across fragments',
      1007,
      () => Buffer.concat([clientFrame(Opcode.TEXT, Buffer.from([0xe2, 0x82]), { fin: false }), clientFrame(Opcode.CONTINUATION, 'x')]),
    ],
    ['a close frame with a 1-byte payload', 1002, () => clientFrame(Opcode.CLOSE, Buffer.from([3]))],
    ['an invalid close code', 1002, () => clientFrame(Opcode.CLOSE, Buffer.from([0x03, 0xed]))],
    ['a close reason that is not UTF-8', 1007, () => clientFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0xff]))],
  ])('refuses %s with %i', (_name, code, make) => {
    const h = upgraded();
    h.push(make());
    expect(violation(h)?.code).toBe(code);
  });

  it('refuses a frame over maxPayload from its header alone (1009), and fragments adding up over it', () => {
    const h = upgraded({ maxPayload: 1000 });
    h.push(clientFrame(Opcode.BINARY, Buffer.alloc(5000)).subarray(0, 20));
    expect(violation(h)?.code).toBe(1009);
    expect(h.maxBuffered).toBeLessThan(100);
    const f = upgraded({ maxPayload: 1000 });
    for (let i = 0; i < 3; i++) f.push(clientFrame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, 'x'.repeat(400), { fin: false }));
    expect(violation(f)?.code).toBe(1009);
  });

  it('refuses a 64-bit length with its top bit set (1002) and a huge one (1009) without allocating', () => {
    const h = upgraded();
    h.push(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(violation(h)?.code).toBe(1002);
    const g = upgraded();
    g.push(Buffer.from([0x82, 0xff, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(violation(g)?.code).toBe(1009);
  });

  it('before the upgrade it is an HTTP parser', () => {
    const h = new LoopHarness(new websocket.Parser());
    h.push(Buffer.from('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
    const req = h.messages[0] as http.HttpRequest;
    expect([req.path, req.upgrade]).toEqual(['/chat', 'websocket']);
  });

  it('encodes strings as text, Buffers as binary, frames as given, with the byte length', () => {
    const p = new websocket.Parser();
    const h = new LoopHarness(p);
    p.upgrade(h, '');
    const [hdr, body] = p.encode('€', h) as [Buffer, string];
    expect([hdr[0], hdr[1], body]).toEqual([0x81, 3, '€']);
    const [bh] = p.encode(Buffer.alloc(70000), h) as [Buffer, Buffer];
    expect([bh[0], bh[1], bh.readUInt32BE(6)]).toEqual([0x82, 127, 70000]);
    const [ch] = p.encode(new websocket.WebSocketFrame(Opcode.PONG, 'p'), h) as [Buffer];
    expect(ch[0]).toBe(0x8a);
  });

  it('property: random bytes in random splits never throw and never buffer past maxPacketSize', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), fc.array(fc.nat(800)), fc.integer({ min: 20, max: 600 }), (bytes, cuts, max) => {
        const h = upgraded({ maxPacketSize: max, maxPayload: max });
        for (const c of splitAt(Buffer.from(bytes), cuts)) h.push(c);
        expect(h.maxBuffered).toBeLessThan(max);
        expect(h.messages.filter((m) => m instanceof ProtocolViolation).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: valid messages, randomly fragmented with pings between, in random splits come out intact', () => {
    const message = fc.record({ text: fc.boolean(), body: fc.string({ maxLength: 300 }), pieces: fc.integer({ min: 1, max: 4 }) });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 12 }), fc.array(fc.nat(6000)), (msgs, cuts) => {
        const wire: Buffer[] = [];
        for (const m of msgs) {
          const bytes = Buffer.from(m.body);
          const size = Math.ceil(bytes.length / m.pieces) || 1;
          const parts: Buffer[] = [];
          for (let i = 0; i < Math.max(bytes.length, 1); i += size) parts.push(bytes.subarray(i, i + size));
          parts.forEach((part, i) => {
            const opcode = i === 0 ? (m.text ? Opcode.TEXT : Opcode.BINARY) : Opcode.CONTINUATION;
            wire.push(clientFrame(opcode, part, { fin: i === parts.length - 1 }));
            if (i === 0 && parts.length > 1) wire.push(clientFrame(Opcode.PING, 'p'));
          });
        }
        const h = upgraded();
        for (const c of splitAt(Buffer.concat(wire), cuts)) h.push(c);
        const got = data(h).filter((m) => !(m instanceof ControlFrame));
        expect(got).toEqual(msgs.map((m) => (m.text ? m.body : Buffer.from(m.body))));
      }),
      { numRuns: 400 },
    );
  });
});

describe('websocket long frames', () => {
  it('property: frames read in pieces (over 64 KiB), short frames and pings, in random splits, come out intact', () => {
    const message = fc.record({
      size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 65_000, max: 140_000 })),
      pieces: fc.integer({ min: 1, max: 3 }),
      seed: fc.nat(255),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(500_000), { maxLength: 40 }), (msgs, cuts) => {
        const wire: Buffer[] = [];
        let pings = 0;
        const bodies = msgs.map((m) => Buffer.alloc(m.size, m.seed));
        msgs.forEach((m, k) => {
          const body = bodies[k] as Buffer;
          const size = Math.ceil(body.length / m.pieces) || 1;
          const parts: Buffer[] = [];
          for (let i = 0; i < Math.max(body.length, 1); i += size) parts.push(body.subarray(i, i + size));
          parts.forEach((part, i) => {
            wire.push(clientFrame(i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, part, { fin: i === parts.length - 1 }));
            wire.push(clientFrame(Opcode.PING, `p${k}`));
            pings++;
          });
        });
        const h = upgraded();
        for (const c of splitAt(Buffer.concat(wire), cuts)) h.push(c);
        const got = data(h).filter((m) => !(m instanceof ControlFrame)) as Buffer[];
        expect(got.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
        got.forEach((b, i) => expect(b.equals(bodies[i] as Buffer)).toBe(true));
        expect(data(h).filter((m) => m instanceof ControlFrame)).toHaveLength(pings);
      }),
      { numRuns: 60 },
    );
  });
});

describe('websocket limits', () => {
  it('a frame over the HTTP maxPacketSize but within maxPayload is read in pieces, never buffered whole', () => {
    // maxPacketSize (8 MiB by default) is the HTTP request limit; it used to cap frames too,
    // and the close reason then named maxPacketSize's value as the message size.
    const h = upgraded({ maxPayload: 16 * 1024 * 1024 });
    const body = Buffer.alloc(9 * 1024 * 1024, 'abcdefgh');
    const frame = clientFrame(Opcode.BINARY, body);
    for (let at = 0; at < frame.length; at += 60_000) h.push(frame.subarray(at, at + 60_000));
    expect(violation(h)).toBeUndefined();
    expect(data(h)).toHaveLength(1);
    expect((data(h)[0] as Buffer).equals(body)).toBe(true);
    expect(h.maxBuffered).toBeLessThan(128 * 1024);
  });

  it('maxPayload is the one limit of a message, with a truthful reason', () => {
    const h = upgraded({ maxPayload: 1000, maxPacketSize: 500 });
    h.push(clientFrame(Opcode.BINARY, Buffer.alloc(900)));
    expect(data(h)).toHaveLength(1);
    h.push(clientFrame(Opcode.BINARY, Buffer.alloc(5000)).subarray(0, 20));
    expect(violation(h)).toMatchObject({ code: 1009, reason: 'frame of 5000 bytes exceeds maxPayload 1000' });
    const f = upgraded({ maxPayload: 1000 });
    for (let i = 0; i < 3; i++) f.push(clientFrame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, 'x'.repeat(400), { fin: false }));
    expect(violation(f)).toMatchObject({ code: 1009, reason: 'message of 1200 bytes (3 fragments) exceeds maxPayload 1000' });
    const g = upgraded({ maxPayload: 64 * 1024 * 1024 });
    g.push(Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    expect(violation(g)).toMatchObject({ code: 1009, reason: `frame of ${0x7fffffff} bytes exceeds maxPayload ${64 * 1024 * 1024}` });
  });

  it('maxFragments: the frame past the limit is refused with 1008', () => {
    const h = upgraded({ maxFragments: 100 });
    h.push(clientFrame(Opcode.TEXT, 'a', { fin: false }));
    for (let i = 1; i < 99; i++) h.push(clientFrame(Opcode.CONTINUATION, '', { fin: false }));
    h.push(clientFrame(Opcode.CONTINUATION, 'z'));
    expect(data(h)).toEqual(['az']);
    const g = upgraded({ maxFragments: 100 });
    g.push(clientFrame(Opcode.TEXT, 'a', { fin: false }));
    for (let i = 1; i < 100; i++) g.push(clientFrame(Opcode.CONTINUATION, '', { fin: false }));
    expect(violation(g)).toBeUndefined();
    g.push(clientFrame(Opcode.CONTINUATION, 'z'));
    expect(violation(g)).toMatchObject({ code: 1008, errorCode: 'BEYOD_WS_TOO_MANY_FRAGMENTS' });
  });

  it('a message in 1-byte fragments, a frame in 1-byte chunks: assembled intact', () => {
    const h = upgraded({ maxFragments: 0 });
    const text = 'fragmenté'.repeat(50);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++)
      h.push(clientFrame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, bytes.subarray(i, i + 1), { fin: i === bytes.length - 1 }));
    const big = Buffer.alloc(200_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const frame = clientFrame(Opcode.BINARY, big);
    for (let at = 0; at < frame.length; at += 4093) h.push(frame.subarray(at, at + 4093));
    h.push(Buffer.concat([clientFrame(Opcode.PING, 'after'), clientFrame(Opcode.TEXT, 'then text')]));
    const got = data(h);
    expect(got[0]).toBe(text);
    expect(Buffer.isBuffer(got[1]) && got[1].equals(big)).toBe(true);
    // what follows a frame read in pieces is read as frames again
    expect(got[2]).toMatchObject({ opcode: Opcode.PING });
    expect(got[3]).toBe('then text');
  });
});

describe('unmasking', () => {
  const naive = (src: Buffer, mask: Buffer, pos: number) => Buffer.from(src.map((b, i) => b ^ (mask[(pos + i) & 3] as number)));

  it('property: in place and while copying, at any offset, length, alignment and payload position, as byte by byte', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1200 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(7),
        fc.nat(7),
        fc.nat(1000),
        (bytes, maskBytes, srcOff, dstOff, pos) => {
          const mask = Buffer.from(maskBytes);
          const data = Buffer.from(bytes);
          // in place, in a buffer that starts at an odd place of its memory
          const holder = Buffer.alloc(data.length + 16);
          const view = holder.subarray(srcOff, srcOff + data.length);
          data.copy(view);
          const maskHolder = Buffer.concat([Buffer.alloc(dstOff), mask]);
          unmask(view, maskHolder, dstOff);
          expect(view.equals(naive(data, mask, 0))).toBe(true);
          // while copying, from a payload position
          const src = Buffer.concat([Buffer.alloc(srcOff), data]);
          const dst = Buffer.alloc(data.length + dstOff + 3, 0xee);
          unmaskInto(dst, dstOff, src, srcOff, data.length, mask, pos);
          expect(dst.subarray(dstOff, dstOff + data.length).equals(naive(data, mask, pos))).toBe(true);
          expect(dst.subarray(0, dstOff).every((b) => b === 0xee) && dst.subarray(dstOff + data.length).every((b) => b === 0xee)).toBe(
            true,
          );
          // a range of a buffer, in place, with the mask in the same buffer (as the parser does);
          // true only when every unmasked byte is ASCII (never for 256 bytes or more: not looked at)
          const frame = Buffer.concat([Buffer.alloc(srcOff, 0xee), mask, data, Buffer.alloc(3, 0xee)]);
          const ascii = unmaskRange(frame, srcOff + 4, data.length, frame, srcOff);
          const want = naive(data, mask, 0);
          expect(frame.subarray(srcOff + 4, srcOff + 4 + data.length).equals(want)).toBe(true);
          expect(
            frame.subarray(0, srcOff).every((b) => b === 0xee) && frame.subarray(srcOff + 4 + data.length).every((b) => b === 0xee),
          ).toBe(true);
          expect(ascii).toBe(data.length < 256 && want.every((b) => b < 0x80));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: unmaskRange tells ASCII text (under 256 bytes) from the rest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300, max: 0x7f }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(), (text, m, k) => {
        const plain = Buffer.from(text);
        if (plain.length > 0 && k % 3 === 0) plain[k % plain.length] = 0x80 | (k & 0x7f); // one byte that is not ASCII
        const mask = Buffer.from(m);
        const frame = Buffer.concat([mask, naive(plain, mask, 0)]);
        const ascii = unmaskRange(frame, 4, plain.length, frame, 0);
        expect(frame.subarray(4).equals(plain)).toBe(true);
        expect(ascii).toBe(plain.length < 256 && plain.every((b) => b < 0x80));
      }),
      { numRuns: 500 },
    );
  });
});
