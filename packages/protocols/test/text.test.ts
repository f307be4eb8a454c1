import { ErrorCodes } from '@beyod/core';
import { text } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';

describe('text parser', () => {
  it('splits lines on \\n and drops a \\r before it', () => {
    const h = new LoopHarness(new text.Parser());
    h.push(Buffer.from('one\ntwo\r\n\nthree'));
    expect(h.messages).toEqual(['one', 'two', '']);
    h.push(Buffer.from(' 3\n'));
    expect(h.messages).toEqual(['one', 'two', '', 'three 3']);
  });

  it('yields every line whatever the split', () => {
    const stream = Buffer.from('alpha\r\nbeta\n\ngamma é\n');
    for (let a = 1; a < stream.length; a++) {
      for (let b = a; b < stream.length; b += 2) {
        const h = new LoopHarness(new text.Parser());
        for (const c of splitAt(stream, [a, b])) h.push(c);
        expect(h.messages).toEqual(['alpha', 'beta', '', 'gamma é']);
      }
    }
  });

  it('parses 10,000 pipelined lines from one chunk', () => {
    const h = new LoopHarness(new text.Parser());
    h.push(Buffer.from(Array.from({ length: 10_000 }, (_, i) => `line ${i}\n`).join('')));
    expect(h.messages).toHaveLength(10_000);
    expect(h.messages[9999]).toBe('line 9999');
  });

  it('refuses a line longer than maxPacketSize without buffering past it', () => {
    const h = new LoopHarness(Object.assign(new text.Parser(), { maxPacketSize: 100 }));
    for (let i = 0; i < 50; i++) h.push(Buffer.alloc(10, 'a'));
    expect(h.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(h.maxBuffered).toBeLessThan(100);
  });

  it('scans a long line once, not once per chunk', () => {
    const h = new LoopHarness(new text.Parser());
    const spy = jest.spyOn(Buffer.prototype, 'indexOf');
    for (let i = 0; i < 1000; i++) h.push(Buffer.alloc(100, 'x'));
    h.push(Buffer.from('\n'));
    // bytes looked at = sum over calls of (view length - start offset)
    const scanned = spy.mock.calls.reduce((n, call, i) => n + (spy.mock.contexts[i] as Buffer).length - ((call[1] as number) ?? 0), 0);
    spy.mockRestore();
    expect(h.messages).toEqual(['x'.repeat(100_000)]);
    expect(scanned).toBeLessThanOrEqual(100_001);
  });

  it('encodes a message as one line', () => {
    const p = new text.Parser();
    expect(p.encode('hi', new LoopHarness(p))).toBe('hi\n');
  });

  it('property: random bytes in random splits never throw, never buffer past maxPacketSize', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600)), fc.integer({ min: 2, max: 100 }), (bytes, cuts, max) => {
        const h = new LoopHarness(Object.assign(new text.Parser(), { maxPacketSize: max }));
        for (const c of splitAt(Buffer.from(bytes), cuts)) h.push(c);
        expect(h.maxBuffered).toBeLessThan(max);
        expect(h.bad.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });
});
