/*
 * The JavaScript cost of one HTTP request, or one WebSocket echo, in beyod without the kernel:
 * a real Listener, Connection, parser and handler, fed by a stand-in socket whose write() only
 * counts. Each turn of the event loop one connection gets a read (`--pipeline N` requests, or
 * N WebSocket frames of `--size` bytes, at once), its answers are flushed at the end of the
 * turn; `--connections` connections take turns (their deadlines share the timing wheel as
 * they would). Prints CPU µs per request / message minus the same loop with no server (the
 * turn itself): the median and the best of `--rounds` runs. Run it under
 * `node --cpu-prof` for a profile of beyod's code alone.
 *
 *   node -r ./packages/cli/register.js bench/jsonly.ts [http|websocket] [--requests 200000]
 *        [--rounds 9] [--pipeline 1] [--connections 50] [--size 32]
 */
import { Listener } from '@beyod/core';
import { http, websocket } from '@beyod/protocols';
import { option } from './http/common';
import { FakeSocket } from './fakeSocket';
import { median } from './lib';

const ws = process.argv[2] === 'websocket';
const requests = option('requests', 200_000);
const rounds = option('rounds', 9);
const pipeline = option('pipeline', ws ? 16 : 1);
const connections = option('connections', 50);
const size = option('size', 32);
const UPGRADE = Buffer.from(
  'GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
);
/** A masked text frame of `size` bytes ('x' masked with 0x01020304). */
function frame(): Buffer {
  const mask = [1, 2, 3, 4];
  const head = size < 126 ? [0x81, 0x80 | size] : [0x81, 0x80 | 126, size >> 8, size & 0xff];
  return Buffer.from([...head, ...mask, ...Array.from({ length: size }, (_, i) => 0x78 ^ mask[i & 3]!)]);
}
/** What each turn's read holds: `pipeline` requests or frames, as one chunk. */
const CHUNK = ws
  ? Buffer.concat(Array<Buffer>(pipeline).fill(frame()))
  : Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n'.repeat(pipeline));

class Hello extends http.Handler {
  override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end('hello world');
  }
}

class Echo extends websocket.Handler {
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    event.sender.send(event.message);
  }
}

const turn = () => new Promise<void>((r) => setImmediate(r));

async function loop(sockets: FakeSocket[] | null): Promise<number> {
  const n = Math.ceil(requests / pipeline);
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (sockets !== null) sockets[i % sockets.length]!.emit('data', CHUNK);
    await turn();
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (n * pipeline);
}

async function main(): Promise<void> {
  const l = ws
    ? Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: websocket.Parser, handler: Echo })
    : Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: http.Parser, handler: Hello });
  l.init();
  const sockets = Array.from({ length: connections }, () => new FakeSocket());
  for (const socket of sockets) {
    (l as unknown as { accept(s: unknown): void }).accept(socket);
    socket.emit('data', ws ? UPGRADE : CHUNK);
  }
  await turn();
  if (sockets.some((s) => s.bytesWritten === 0)) throw new Error('no response written');
  await loop(sockets); // warm-up
  const with_: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < rounds; i++) {
    with_.push(await loop(sockets));
    without.push(await loop(null));
  }
  const cost = median(with_) - median(without);
  const best = Math.min(...with_) - Math.min(...without);
  console.log(
    `beyod ${ws ? `websocket echo of ${size} bytes` : 'http hello'}, JS only: ${cost.toFixed(3)} µs per ${ws ? 'message' : 'request'}, median of ${rounds} (best ${best.toFixed(3)}; ${pipeline} per read; turn overhead ${median(without).toFixed(3)} µs subtracted)`,
  );
  process.exit(0);
}

void main();
