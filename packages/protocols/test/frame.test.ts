import { ErrorCodes } from '@beyod/core';
import { frame } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';

const enc = (s: string) => frame.encodeFrame(s);

describe('frame parser', () => {
  it('waits for the whole 4-byte header (1 to 4 bytes are not a packet)', () => {
    const p = new frame.Parser();
    const h = new LoopHarness(p);
    for (let n = 1; n < 4; n++) expect(p.input(enc('x').subarray(0, n), h)).toBe(0);
    expect(p.input(enc('x').subarray(0, 4), h)).toBe(5);
  });

  it('yields every packet whatever the split (every offset)', () => {
    const stream = Buffer.concat([enc('one'), enc(''), enc('three 3'), enc('é—ü')]);
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 3) {
        const h = new LoopHarness(Object.assign(new frame.Parser(), { encoding: 'utf8' as const }));
        for (const c of splitAt(stream, [cut, cut2])) h.push(c);
        expect(h.messages).toEqual(['one', '', 'three 3', 'é—ü']);
      }
    }
  });

  it('yields a packet split byte by byte', () => {
    const h = new LoopHarness(new frame.Parser());
    const data = enc('byte by byte');
    for (let i = 0; i < data.length; i++) h.push(data.subarray(i, i + 1));
    expect(h.messages.map(String)).toEqual(['byte by byte']);
  });

  it('parses 10,000 pipelined packets from one chunk', () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) parts.push(enc(`m${i}`));
    const h = new LoopHarness(new frame.Parser());
    h.push(Buffer.concat(parts));
    expect(h.messages).toHaveLength(10_000);
    expect(String(h.messages[9999])).toBe('m9999');
  });

  it('refuses a header announcing 4 GiB at once, before buffering the body', () => {
    const h = new LoopHarness(new frame.Parser());
    h.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(h.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(h.maxBuffered).toBe(0);
  });

  it('refuses a length shorter than the header itself', () => {
    const h = new LoopHarness(new frame.Parser());
    h.push(Buffer.from([0, 0, 0, 3]));
    expect(h.bad[0]?.code).toBe(ErrorCodes.BAD_PACKET);
  });

  it('encodes [header, payload] with the byte length (not UTF-16 units)', () => {
    const p = new frame.Parser();
    const [header, body] = p.encode('€', new LoopHarness(p));
    expect(header.readUInt32BE(0)).toBe(4 + 3);
    expect(body.toString()).toBe('€');
  });

  it('property: random bytes in random splits never throw, never buffer past maxPacketSize', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600)), fc.integer({ min: 5, max: 200 }), (bytes, cuts, max) => {
        const p = Object.assign(new frame.Parser(), { maxPacketSize: max });
        const h = new LoopHarness(p);
        for (const c of splitAt(Buffer.from(bytes), cuts)) h.push(c);
        expect(h.maxBuffered).toBeLessThan(max);
        for (const m of h.messages) expect((m as Buffer).length + 4).toBeLessThanOrEqual(max);
        expect(h.bad.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: valid frames in random splits come out intact', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 30 }), fc.array(fc.nat(2000)), (msgs, cuts) => {
        const h = new LoopHarness(Object.assign(new frame.Parser(), { encoding: 'utf8' as const }));
        for (const c of splitAt(Buffer.concat(msgs.map(enc)), cuts)) h.push(c);
        expect(h.messages).toEqual(msgs);
      }),
      { numRuns: 500 },
    );
  });
});
