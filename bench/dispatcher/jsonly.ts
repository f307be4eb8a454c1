/*
 * The JavaScript cost of one dispatcher request without the kernel (like bench/jsonly.ts for
 * HTTP): a real Listener, Connection, dispatcher Parser and Handler, fed by stand-in sockets
 * whose write() only counts. Each turn one connection gets a read of `--pipeline` requests.
 * Prints CPU µs per request minus the same loop with no server: the median and the best of
 * `--rounds` runs. Run it under `node --cpu-prof` for a profile of beyod's code alone.
 *
 *   node -r ./packages/cli/register.js bench/dispatcher/jsonly.ts [set|get|publish]
 *        [--requests 400000] [--rounds 7] [--pipeline 64] [--connections 10]
 *
 * DISPATCHER_DIST=<path of a built index.js> runs another build (an A/B comparison).
 *
 * publish: `--connections` publishers, each on its own channel with one subscriber.
 */
import { Listener } from '@beyod/core';
import * as dispatcherModule from '@beyod/dispatcher';
import { option } from '../http/common';
import { FakeSocket } from '../fakeSocket';
import { median } from '../lib';

// DISPATCHER_DIST: another build of the package (an A/B comparison with the same harness)
const { Handler, Parser } = (
  process.env.DISPATCHER_DIST ? require(process.env.DISPATCHER_DIST) : dispatcherModule
) as typeof dispatcherModule;
const what = process.argv[2] === 'get' || process.argv[2] === 'publish' ? process.argv[2] : 'set';
const requests = option('requests', 400_000);
const rounds = option('rounds', 7);
const pipeline = option('pipeline', 64);
const connections = option('connections', 10);
const PAYLOAD = 'p'.repeat(64);

function frame(o: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(o));
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32BE(4 + body.length, 0);
  body.copy(b, 4);
  return b;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

function chunkFor(i: number, command: string = what): Buffer {
  const parts: Buffer[] = [];
  for (let k = 0; k < pipeline; k++) {
    const key = `key:${(i * pipeline + k) % 1000}`;
    if (command === 'set') parts.push(frame({ command: 'set', key, value: PAYLOAD, seq: 1 }));
    else if (command === 'get') parts.push(frame({ command: 'get', key, seq: 1 }));
    else parts.push(frame({ command: 'publish', key: `bench:${i}`, value: PAYLOAD, seq: 1 }));
  }
  return Buffer.concat(parts);
}

async function loop(sockets: FakeSocket[] | null, chunks: Buffer[]): Promise<number> {
  const n = Math.ceil(requests / pipeline);
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (sockets !== null) sockets[i % sockets.length]!.emit('data', chunks[i % chunks.length]);
    await turn();
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / (n * pipeline);
}

async function main(): Promise<void> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: Parser, handler: Handler });
  l.init();
  const accept = (s: FakeSocket) => (l as unknown as { accept(s: unknown): void }).accept(s);
  const sockets = Array.from({ length: connections }, () => new FakeSocket());
  for (const s of sockets) accept(s);
  const subscribers: FakeSocket[] = [];
  if (what === 'publish') {
    for (let i = 0; i < connections; i++) {
      const s = new FakeSocket();
      accept(s);
      s.emit('data', frame({ command: 'subscribe', key: `bench:${i}`, seq: 1 }));
      subscribers.push(s);
    }
  } else {
    // the keys exist (GET finds its values)
    for (let i = 0; i < 1000 / pipeline + 1; i++) sockets[0]!.emit('data', chunkFor(i, 'set'));
  }
  // publish: socket i publishes to channel i; set/get: any chunk to any socket
  const chunks = what === 'publish' ? [] : Array.from({ length: Math.ceil(1000 / pipeline) }, (_, i) => chunkFor(i));
  const perSocket = what === 'publish' ? sockets.map((_, i) => chunkFor(i)) : null;
  const run = (on: FakeSocket[] | null) =>
    perSocket === null
      ? loop(on, chunks)
      : (async () => {
          const n = Math.ceil(requests / pipeline);
          const t0 = process.cpuUsage();
          for (let i = 0; i < n; i++) {
            if (on !== null) on[i % on.length]!.emit('data', perSocket[i % perSocket.length]);
            await turn();
          }
          const t = process.cpuUsage(t0);
          return (t.user + t.system) / (n * pipeline);
        })();
  await turn();
  await run(sockets); // warm-up
  if (sockets.some((s) => s.bytesWritten === 0) || subscribers.some((s) => s.bytesWritten < 1000)) throw new Error('nothing written');
  const with_: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < rounds; i++) {
    with_.push(await run(sockets));
    without.push(await run(null));
  }
  const cost = median(with_) - median(without);
  const best = Math.min(...with_) - Math.min(...without);
  console.log(
    `beyod dispatcher ${what}, JS only: ${cost.toFixed(3)} µs per request, median of ${rounds} (best ${best.toFixed(3)}; ${pipeline} per read, ${connections} connections)`,
  );
  process.exit(0);
}

void main();
