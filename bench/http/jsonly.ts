/*
 * The JavaScript cost of one HTTP request in beyod, without the kernel: a real Listener,
 * Connection, http.Parser and http.Handler, fed by a stand-in socket whose write() only counts.
 * Each request arrives in its own event-loop turn (as without pipelining: a read, the answer
 * flushed at the end of the turn), or `--pipeline N` at once, on `--connections` connections in
 * turn (their keep-alive deadlines share the timing wheel as they would). Prints CPU µs per request, minus
 * the same loop with no server (the turn itself), the median of `--rounds` runs.
 * With --profile, run it under `node --cpu-prof` for a profile of beyod's code alone.
 *
 *   node -r ./packages/cli/register.js bench/http/jsonly.ts [--requests 200000] [--rounds 5] [--pipeline 1]
 */
import { EventEmitter } from 'node:events';
import { Listener } from '@beyod/core';
import { http } from '@beyod/protocols';
import { median } from '../lib';
import { option } from './common';

const requests = option('requests', 200_000);
const rounds = option('rounds', 9);
const pipeline = option('pipeline', 1);
const connections = option('connections', 50);
const REQ = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n'.repeat(pipeline));

class Hello extends http.Handler {
  override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end('hello world');
  }
}

/** What Connection uses of a net.Socket; write() counts bytes and calls back at once. */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  bytesRead = 0;
  bytesWritten = 0;
  writableLength = 0;
  destroyed = false;
  write(data: string | Buffer, cb?: () => void): boolean {
    this.bytesWritten += typeof data === 'string' ? data.length : data.length;
    if (cb) process.nextTick(cb);
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const turn = () => new Promise<void>((r) => setImmediate(r));

async function loop(sockets: FakeSocket[] | null): Promise<number> {
  const n = Math.ceil(requests / pipeline);
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (sockets !== null) sockets[i % sockets.length]!.emit('data', REQ);
    await turn();
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (n * pipeline);
}

async function main(): Promise<void> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: http.Parser, handler: Hello });
  l.init();
  const sockets = Array.from({ length: connections }, () => new FakeSocket());
  for (const socket of sockets) {
    (l as unknown as { accept(s: unknown): void }).accept(socket);
    socket.emit('data', REQ);
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
    `beyod http, JS only: ${cost.toFixed(3)} µs per request, median of ${rounds} (best ${best.toFixed(3)}; pipeline ${pipeline}; turn overhead ${median(without).toFixed(3)} µs subtracted)`,
  );
  process.exit(0);
}

void main();
