import { ErrorCodes } from '@beyod/core';
import { BadBody, Parser, encodePacket } from '@beyod/dispatcher';
import * as fc from 'fast-check';
import { LoopHarness, frame, splitAt } from 'test-helpers';

describe('dispatcher Parser', () => {
  it('decodes a frame into its JSON object', () => {
    const h = new LoopHarness(new Parser());
    h.push(frame('{"command":"get","key":65537,"seq":"a"}'));
    expect(h.messages).toEqual([{ command: 'get', key: 65537, seq: 'a' }]);
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
    expect(h.messages[1]).toEqual({ ok: 1 });
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
      expect(h.messages).toEqual([{ a: 1 }, { b: 'é' }, { c: [1, 2] }]);
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
        for (const m of h.messages) expect(m instanceof BadBody || (typeof m === 'object' && m !== null && !Array.isArray(m))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any JSON object survives encode → random split → decode', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 10 }), fc.array(fc.nat(3000)), (objs, cuts) => {
        const h = new LoopHarness(new Parser());
        for (const c of splitAt(Buffer.concat(objs.map(encodePacket)), cuts)) h.push(c);
        expect(h.messages).toEqual(objs.map((o) => JSON.parse(JSON.stringify(o))));
      }),
      { numRuns: 300 },
    );
  });
});
