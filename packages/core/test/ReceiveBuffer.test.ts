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

  it('keeps later chunks as they came; the head grows only when asked (extend / gather)', () => {
    const rb = new ReceiveBuffer();
    for (const c of ['ab', 'cd', 'ef', 'g']) rb.push(Buffer.from(c));
    expect(rb.length).toBe(7);
    expect(rb.view().toString()).toBe('ab');
    rb.extend();
    expect(rb.view().toString()).toBe('abcdefg');
    expect(rb.take(3).toString()).toBe('abc');
    rb.push(Buffer.from('hi'));
    expect(rb.view().toString()).toBe('defg');
    rb.gather(6);
    expect(rb.view().toString()).toBe('defghi');
  });

  it('never overwrites memory it handed out', () => {
    const rb = new ReceiveBuffer();
    rb.push(Buffer.from('abc'));
    rb.push(Buffer.from('def'));
    rb.extend(); // now owned, with spare room
    const first = rb.take(2);
    for (let i = 0; i < 100; i++) {
      rb.push(Buffer.from('xyz'));
      rb.extend();
    }
    expect(first.toString()).toBe('ab');
  });

  it('copies each byte O(1) times when the head grows over many chunks (unknown length)', () => {
    const rb = new ReceiveBuffer();
    const chunk = Buffer.alloc(1000, 1);
    rb.push(chunk);
    const before = ReceiveBuffer.bytesCopied;
    for (let i = 0; i < 10_000; i++) {
      rb.push(chunk);
      while (rb.contiguous < rb.length) rb.extend();
    }
    expect(rb.length).toBe(10_001_000);
    // geometric growth: each byte copied a bounded number of times, not once per chunk
    expect(ReceiveBuffer.bytesCopied - before).toBeLessThan(4 * rb.length);
  });

  it('gather() copies the bytes of one packet once, and leaves the rest of the last chunk a view', () => {
    const rb = new ReceiveBuffer();
    const a = Buffer.from('0123456789');
    const b = Buffer.from('abcdefghij');
    rb.push(a.subarray(6)); // "6789"
    rb.push(b);
    const before = ReceiveBuffer.bytesCopied;
    rb.gather(6);
    expect(ReceiveBuffer.bytesCopied - before).toBe(6);
    expect(rb.take(6).toString()).toBe('6789ab');
    expect(rb.view().toString()).toBe('cdefghij');
    expect(rb.view().buffer).toBe(b.buffer); // not copied
  });

  it('holds what it is given and allocates nothing for a length it was told', () => {
    const rb = new ReceiveBuffer();
    const header = Buffer.from([0x00, 0x7f, 0xff, 0xff]);
    rb.push(header);
    for (let i = 0; i < 10; i++) rb.push(Buffer.alloc(100));
    expect(rb.length).toBe(1004);
    expect(rb.view().buffer).toBe(header.buffer);
  });
});
