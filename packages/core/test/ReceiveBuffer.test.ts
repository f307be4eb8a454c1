import { ReceiveBuffer } from '@beyod/core';

describe('ReceiveBuffer', () => {
  it('uses a chunk that arrives into an empty buffer as it is (no copy)', () => {
    const rb = new ReceiveBuffer();
    const chunk = Buffer.from('hello');
    rb.push(chunk);
    expect(rb.view().buffer).toBe(chunk.buffer);
    expect(rb.take(5).toString()).toBe('hello');
    expect(rb.length).toBe(0);
  });

  it('joins chunks in order and takes packets from the head', () => {
    const rb = new ReceiveBuffer();
    for (const c of ['ab', 'cd', 'ef', 'g']) rb.push(Buffer.from(c));
    expect(rb.length).toBe(7);
    expect(rb.view().toString()).toBe('abcdefg');
    expect(rb.take(3).toString()).toBe('abc');
    rb.push(Buffer.from('hi'));
    expect(rb.view().toString()).toBe('defghi');
  });

  it('never overwrites memory it handed out', () => {
    const rb = new ReceiveBuffer();
    rb.push(Buffer.from('abc'));
    rb.push(Buffer.from('def')); // now owned, with spare room
    const first = rb.take(2);
    for (let i = 0; i < 100; i++) rb.push(Buffer.from('xyz'));
    expect(first.toString()).toBe('ab');
  });

  it('copies each byte O(1) times when a packet spans many chunks', () => {
    const rb = new ReceiveBuffer();
    const chunk = Buffer.alloc(1000, 1);
    rb.push(chunk);
    let reallocations = 0;
    let last = rb.view().buffer;
    for (let i = 0; i < 10_000; i++) {
      rb.push(chunk);
      const now = rb.view().buffer;
      if (now !== last) reallocations++;
      last = now;
    }
    expect(rb.length).toBe(10_001_000);
    // geometric growth: about log2(10 MB / 4 KB) reallocations, not one per chunk
    expect(reallocations).toBeLessThan(20);
  });

  it('reserve() makes room for a known packet length in one allocation', () => {
    const rb = new ReceiveBuffer();
    rb.push(Buffer.from('ab'));
    rb.reserve(100_000);
    const before = rb.view().buffer;
    for (let i = 0; i < 99; i++) rb.push(Buffer.alloc(1000));
    expect(rb.view().buffer).toBe(before);
  });
});
