import { type Connection, Handler, type IOEvent, Listener, type MessageEvent, ReceiveBuffer } from '@beyod/core';
import { frame } from '@beyod/protocols';
import * as net from 'node:net';
import { Cleanup, LoopHarness, frame as mkFrame, until } from 'test-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function startListener(props: Partial<Listener>): Promise<Listener> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: frame.Parser }, props);
  l.init();
  await l.start();
  cleanup.add(l, (x) => x.stop(0));
  return l;
}

/** 100,000 frames of 31 bytes (27 of payload), back to back. */
function pipeline(): Buffer {
  return Buffer.concat(Array.from({ length: 100_000 }, (_, i) => mkFrame(`${String(i).padStart(6, '0')}${'x'.repeat(21)}`)));
}

describe('received bytes: copies', () => {
  it('only a packet that spans two chunks is copied (64 KiB chunks of 31-byte frames)', () => {
    // Failed before: a chunk with any tail left was copied whole, 96 % of all bytes.
    const data = pipeline();
    const h = new LoopHarness(new frame.Parser());
    const before = ReceiveBuffer.bytesCopied;
    const CHUNK = 64 * 1024;
    for (let at = 0; at < data.length; at += CHUNK) h.push(data.subarray(at, at + CHUNK));
    const copied = ReceiveBuffer.bytesCopied - before;
    expect(h.messages).toHaveLength(100_000);
    expect(String(h.messages[99_999]).slice(0, 6)).toBe('099999');
    const boundaries = Math.ceil(data.length / CHUNK) - 1;
    // at each chunk boundary: at most the frame that spans it, plus a peek at the next chunk
    expect(copied).toBeLessThanOrEqual(boundaries * (31 + 64));
    expect(copied / data.length).toBeLessThan(0.01);
  });

  it('over a real socket, the copied share stays small', async () => {
    let got = 0;
    class Count extends Handler {
      override onMessage(): void {
        got++;
      }
    }
    const l = await startListener({ handler: Count });
    const data = pipeline();
    const before = ReceiveBuffer.bytesCopied;
    const s = net.connect(l.port, '127.0.0.1');
    cleanup.add(s, (x) => x.destroy());
    s.write(data);
    await until(() => got === 100_000, 10000, '100000 frames');
    const copied = ReceiveBuffer.bytesCopied - before;
    expect(copied / data.length).toBeLessThan(0.05);
  });

  it('a large packet arriving in many chunks is copied once, into a buffer of its own size', () => {
    const h = new LoopHarness(new frame.Parser());
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const data = Buffer.concat([mkFrame(payload), mkFrame('after')]);
    const before = ReceiveBuffer.bytesCopied;
    for (let at = 0; at < data.length; at += 16 * 1024) h.push(data.subarray(at, at + 16 * 1024));
    expect(h.messages).toHaveLength(2);
    expect((h.messages[0] as Buffer).equals(payload)).toBe(true);
    expect((h.messages[0] as Buffer).buffer.byteLength).toBeLessThan(payload.length + 8 * 1024);
    expect(String(h.messages[1])).toBe('after');
    expect(ReceiveBuffer.bytesCopied - before).toBeLessThanOrEqual(payload.length + 4 + 64);
  });
});

describe('received bytes: memory follows the bytes received, not a length header', () => {
  it('100 connections announcing 8 MiB - 1 each do not make the worker allocate 800 MiB', async () => {
    // Failed before: ReceiveBuffer.reserve() allocated each announced packet at once
    // (arrayBuffers grew by 100 x 8 MiB).
    const N = 100;
    const conns: Connection[] = [];
    class Keep extends Handler {
      override onConnect(e: IOEvent): void {
        conns.push(e.sender as Connection);
      }
      override onMessage(_e: MessageEvent): void {}
    }
    const l = await startListener({ handler: Keep });
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 * 1024 * 1024 - 1, 0);
    header.write('abcd', 4);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < N; i++) {
      const s = net.connect(l.port, '127.0.0.1');
      cleanup.add(s, (x) => x.destroy());
      sockets.push(s);
    }
    await until(() => conns.length === N, 5000, `${N} connections`);
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().arrayBuffers;
    for (const s of sockets) s.write(header);
    await until(() => l.getStats().bytesIn === 8 * N, 5000, 'every header received');
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(conns.every((c) => c.receiveBufferLength === 8)).toBe(true);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });
});
