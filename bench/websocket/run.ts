/**
 * WebSocket echo of small text messages: beyod's websocket.Parser + Handler against a `ws`
 * server, the same number of workers, in one run; `ws` clients in this process keep a window
 * of messages in flight on each connection. Prints a table and the ratio.
 *
 *   node -r @beyod/cli/register bench/websocket/run.ts [--duration 10] [--connections 50] [--window 16] [--size 32] [--workers 1] [--rounds 2]
 *
 * Rounds run A B B A, as in bench/http; the table shows the means.
 */
import * as path from 'node:path';
import WebSocket from 'ws';
import { machine, option, startServer, table } from '../http/common';

const duration = option('duration', 10);
const connections = option('connections', 50);
const windowSize = option('window', 16);
const size = option('size', 32);
const workers = option('workers', 1);
const rounds = option('rounds', 2);

/** Echoes per second over `seconds`, with `connections` clients each keeping `windowSize` messages in flight. */
async function load(port: number, seconds: number): Promise<number> {
  const payload = 'x'.repeat(size);
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    }),
  );
  let echoes = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => {
      echoes++;
      if (running) ws.send(payload);
    });
    for (let i = 0; i < windowSize; i++) ws.send(payload);
  }
  const start = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  running = false;
  const rate = echoes / ((Date.now() - start) / 1000);
  for (const ws of sockets) ws.terminate();
  return rate;
}

async function measure(kind: string): Promise<number> {
  const server = await startServer(path.join(__dirname, 'server.ts'), kind, workers);
  try {
    await load(server.port, 1); // warm-up
    return await load(server.port, duration);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const results: Record<string, number[]> = { beyod: [], ws: [] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of i % 2 === 0 ? ['beyod', 'ws'] : ['ws', 'beyod']) results[kind]?.push(await measure(kind));
  }
  const mean = (xs: number[] = []) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const beyod = mean(results.beyod);
  const ws = mean(results.ws);
  console.log(
    `\nWebSocket echo, ${size}-byte text: ${connections} connections x ${windowSize} in flight, ${workers} worker(s), ${rounds} x ${duration} s each\n`,
  );
  console.log(
    table(
      ['server', 'messages/s'],
      [
        ['beyod websocket', Math.round(beyod)],
        ['ws', Math.round(ws)],
      ],
    ),
  );
  console.log(`\nratio beyod / ws = ${(beyod / ws).toFixed(2)}x (goal >= 1.0x)`);
  console.log(machine());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
