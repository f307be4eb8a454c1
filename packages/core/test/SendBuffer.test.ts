import { SendBuffer } from '@beyod/core';

const joined = (parts: Array<Buffer | string>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

describe('SendBuffer', () => {
  it('keeps the order of small and large pieces, strings and integers', () => {
    const out = new SendBuffer();
    const big = Buffer.alloc(20_000, 'b');
    out.appendUInt32BE(0x01020304);
    out.appendString('é€');
    out.appendBuffer(big);
    out.appendBuffer(Buffer.from('tail'));
    expect(out.length).toBe(4 + 5 + 20_000 + 4);
    const parts = out.take();
    expect(parts).toHaveLength(3); // [header + string], big (by reference), tail
    expect(parts[1]).toBe(big);
    expect(joined(parts)).toEqual(Buffer.concat([Buffer.from([1, 2, 3, 4]), Buffer.from('é€'), big, Buffer.from('tail')]));
    expect(out.length).toBe(0);
  });

  it('appendLengthAndString: a length header counting the UTF-8 bytes, then the text (small and large, after a first string)', () => {
    const out = new SendBuffer();
    const big = 'é'.repeat(10_000); // 20,000 bytes: kept apart
    out.appendString('a');
    out.appendLengthAndString('é€x', 4);
    out.appendLengthAndString(big, 0);
    const header = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    const want = Buffer.concat([Buffer.from('a'), header(6 + 4), Buffer.from('é€x'), header(20_000), Buffer.from(big)]);
    expect(out.length).toBe(want.length);
    expect(joined(out.take())).toEqual(want);
  });

  it('joins many small messages into one buffer', () => {
    const out = new SendBuffer();
    for (let i = 0; i < 500; i++) out.appendString(`m${i};`);
    const parts = out.take();
    expect(joined(parts).toString()).toBe(Array.from({ length: 500 }, (_, i) => `m${i};`).join(''));
    expect(parts.length).toBeLessThanOrEqual(2);
  });

  it('never rewrites bytes it handed out', () => {
    const out = new SendBuffer();
    out.appendString('first');
    const [first] = out.take();
    for (let i = 0; i < 100; i++) out.appendString('second turn');
    out.take();
    expect(first!.toString()).toBe('first');
  });

  it('a turn of one small string keeps it a string (no Buffer); a second piece joins them', () => {
    const out = new SendBuffer();
    out.appendString('héllo\n');
    expect(out.length).toBe(7);
    expect(out.take()).toEqual(['héllo\n']);
    out.appendString('a');
    out.appendUInt32BE(1);
    out.appendString('b');
    expect(out.length).toBe(6);
    const parts = out.take();
    expect(parts).toHaveLength(1);
    expect(joined(parts)).toEqual(Buffer.from([0x61, 0, 0, 0, 1, 0x62]));
  });

  it('a long string goes by way of one Buffer, not the accumulator', () => {
    const out = new SendBuffer();
    const s = 'x'.repeat(10_000); // 30,000 bytes in the worst case: over the join limit
    out.appendString(s);
    expect(joined(out.take()).toString()).toBe(s);
  });
});
