import { ErrorCodes } from '@beyod/core';
import { BadBody, PacketParser, Parser, Request, encodePacket } from '@beyod/dispatcher';
import * as fc from 'fast-check';
import { LoopHarness, frame, splitAt } from 'test-helpers';

describe('dispatcher Parser', () => {
  it('decodes a frame into its JSON object', () => {
    const h = new LoopHarness(new Parser());
    h.push(frame('{"command":"get","key":65537,"seq":"a"}'));
    expect(objects(h)).toEqual([{ command: 'get', key: 65537, seq: 'a' }]);
    const r = h.messages[0] as Request;
    expect(r.command).toBe('get');
    expect(r.raw(1)).toBe('65537');
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['an array', '[1]', /an array/],
    ['a number', '7', /number/],
    ['a string', '"s"', /string/],
    ['null', 'null', /null/],
    ['nothing', '', /not JSON/],
  ])('a body that is %s decodes to BadBody (the framing is intact, the connection goes on)', (_n, body, why) => {
    const h = new LoopHarness(new Parser());
    h.push(Buffer.concat([frame(body), frame('{"ok":1}')]));
    expect(h.messages[0]).toBeInstanceOf(BadBody);
    expect((h.messages[0] as BadBody).reason).toMatch(why);
    expect(objects(h)[1]).toEqual({ ok: 1 });
    expect(h.bad).toHaveLength(0);
  });

  it('encodes an object as one frame whose length counts the header and UTF-8 bytes', () => {
    const p = new Parser();
    const buf = p.encode({ value: '€😀' }, new LoopHarness(p)) as Buffer;
    expect(buf.readUInt32BE(0)).toBe(buf.length);
    expect(JSON.parse(buf.subarray(4).toString())).toEqual({ value: '€😀' });
  });

  it('passes an already framed Buffer through (encoded once, sent to many)', () => {
    const p = new Parser();
    const f = encodePacket({ command: 'message' });
    expect(p.encode(f, new LoopHarness(p))).toBe(f);
  });

  it('yields every packet whatever the split', () => {
    const stream = Buffer.concat([encodePacket({ a: 1 }), encodePacket({ b: 'é' }), encodePacket({ c: [1, 2] })]);
    for (let cut = 1; cut < stream.length; cut++) {
      const h = new LoopHarness(new Parser());
      for (const c of splitAt(stream, [cut, cut + 5])) h.push(c);
      expect(objects(h)).toEqual([{ a: 1 }, { b: 'é' }, { c: [1, 2] }]);
    }
  });

  it('refuses a 4 GiB header before buffering anything more', () => {
    const h = new LoopHarness(new Parser());
    h.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(h.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(h.maxBuffered).toBe(0);
  });

  it('property: random bytes in random splits: packets or one bad packet, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400)), (bytes, cuts) => {
        const p = Object.assign(new Parser(), { maxPacketSize: 256 });
        const h = new LoopHarness(p);
        for (const c of splitAt(Buffer.from(bytes), cuts)) h.push(c);
        expect(h.bad.length).toBeLessThanOrEqual(1);
        expect(h.maxBuffered).toBeLessThan(256);
        for (const m of h.messages) expect(m instanceof BadBody || m instanceof Request).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any JSON object survives encode → random split → decode', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 10 }), fc.array(fc.nat(3000)), (objs, cuts) => {
        const h = new LoopHarness(new Parser());
        for (const c of splitAt(Buffer.concat(objs.map(encodePacket)), cuts)) h.push(c);
        expect(objects(h)).toEqual(objs.map((o) => JSON.parse(JSON.stringify(o))));
      }),
      { numRuns: 300 },
    );
  });

  it('PacketParser decodes to plain objects (the Client codec)', () => {
    const h = new LoopHarness(new PacketParser());
    h.push(Buffer.concat([frame('{"a":[1]}'), frame('nope')]));
    expect(h.messages[0]).toEqual({ a: [1] });
    expect(h.messages[1]).toBeInstanceOf(BadBody);
  });
});

/** What the harness decoded, requests as plain objects. */
function objects(h: LoopHarness): unknown[] {
  return h.messages.map((m) => (m instanceof Request ? m.toObject() : m));
}

function decodeOne(body: string | Buffer, maxDepth = 64): Request | BadBody {
  const h = new LoopHarness(Object.assign(new Parser(), { maxDepth }));
  h.push(frame(body));
  return h.messages[0] as Request | BadBody;
}

/** Change one character of a JSON text: often invalid, sometimes still valid. */
const mutated = fc
  .tuple(fc.json(), fc.nat(), fc.constantFrom('', '"', '\\', ',', ':', '{', '}', '[', ']', 'x', '0', '-', '.', 'e', ' ', '\u0001', 'é'))
  .map(([json, at, c]) => {
    const i = at % (json.length + 1);
    return json.slice(0, i) + c + json.slice(i + 1);
  });

describe('dispatcher Parser: the request scanner', () => {
  it('property: accepts exactly what JSON.parse accepts, and reads the same object', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          mutated,
          fc.string(),
          fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.stringify(o)),
        ),
        (text) => {
          let expected: unknown;
          let valid = true;
          try {
            expected = JSON.parse(text);
          } catch {
            valid = false;
          }
          const m = decodeOne(text, 0);
          const isObject = valid && expected !== null && typeof expected === 'object' && !Array.isArray(expected);
          if (!isObject) {
            expect(m).toBeInstanceOf(BadBody);
            expect((m as BadBody).reason).toMatch(valid ? /must be a JSON object/ : /not JSON/);
            return;
          }
          expect(m).toBeInstanceOf(Request);
          expect((m as Request).toObject()).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: each known field decodes to what JSON.parse gives (last one wins, escapes in names too)', () => {
    const fields = ['command', 'key', 'value', 'seq', 'expire', 'priority', 'block', 'timeout', 'loop', 'cursor', 'count'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...fields, 'other'), fc.jsonValue()), fc.jsonValue(), (o, dup) => {
        // a duplicate of the first member, written last: JSON.parse keeps the last
        const names = Object.keys(o);
        let text = JSON.stringify(o);
        if (names.length > 0) text = `${text.slice(0, -1)},${JSON.stringify(names[0])}:${JSON.stringify(dup)}}`;
        const expected = JSON.parse(text) as Record<string, unknown>;
        const r = decodeOne(text.replace('"command"', '"comm\u0061nd"'), 0) as Request;
        fields.forEach((f, i) => expect(r.value(i)).toEqual(expected[f]));
        expect(r.command).toBe(typeof expected.command === 'string' ? expected.command : undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('counts depth without recursion: 1,000,000 levels are measured, not a stack overflow', () => {
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    const r = decodeOne(`{"command":"set","value":${deep},"seq":1}`) as Request;
    expect(r.tooDeep).toMatch(/1000000 levels deep; the limit is maxDepth 64/);
    // the fields after the deep one are still read, so the answer can carry the seq
    expect(r.raw(3)).toBe('1');
  });

  it('refuses malformed UTF-8 (overlong, surrogates, truncated, beyond U+10FFFF) and accepts the rest', () => {
    const body = (bytes: number[]) => Buffer.concat([Buffer.from('{"value":"'), Buffer.from(bytes), Buffer.from('"}')]);
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xff], [0x80]]) {
      expect(decodeOne(body(bad))).toBeInstanceOf(BadBody);
    }
    for (const good of ['é', '€', '😀', '\\u00e9', '\\ud800']) {
      expect((decodeOne(`{"value":"${good}"}`) as Request).value(2)).toBe(JSON.parse(`"${good}"`));
    }
  });
});
