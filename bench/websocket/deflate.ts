/**
 * permessage-deflate: memory per connection and cost per message, beyod against ws, with and
 * without context takeover, in one run.
 *
 *   node -r @beyod/cli/register bench/websocket/deflate.ts [--connections 500] [--duration 5] [--size 4096]
 *
 * Memory: each of `connections` ws clients (which offer permessage-deflate with takeover, as
 * browsers do) sends one compressible text message of `size` bytes and waits for its echo; the
 * server then collects garbage and reports RSS, heap and external memory; the figure is the
 * growth over the idle server, per connection. Echo: 20 clients keep 8 such messages each in
 * flight for `duration` seconds; the server's own CPU time per 1000 echoes is read from it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import WebSocket from 'ws';
import { option } from '../http/common';
import { beginReport, endReport, printTable } from '../lib';

const connections = option('connections', 500);
const duration = option('duration', 5);
const size = option('size', 4096);

const KINDS = [
  'beyod plain',
  'ws plain',
  'beyod deflate (default: no server takeover)',
  'ws deflate, no server takeover',
  'beyod deflate, server takeover',
  'ws deflate (default: takeover)',
  'beyod deflate, no takeover either way',
  'ws deflate, no takeover either way',
];

/** A chat-like text message of `size` bytes: JSON records that repeat with variations. */
function message(seed: number): string {
  let s = '';
  for (let i = 0; s.length < size; i++)
    s += JSON.stringify({ id: seed * 1000 + i, user: `user${(seed + i) % 17}`, text: `message ${i} of ${seed}` });
  return s.slice(0, size);
}

async function ask<T>(child: ChildProcess, what: string): Promise<T> {
  child.send(what);
  const [m] = await once(child, 'message');
  return m as T;
}

async function open(port: number, n: number): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        return once(ws, 'open').then(() => ws);
      }),
    );
    out.push(...batch);
  }
  return out;
}

async function run(kind: string): Promise<Array<string | number>> {
  const child = fork(path.join(__dirname, 'deflateServer.ts'), [kind], {
    execArgv: ['-r', '@beyod/cli/register', '--expose-gc'],
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, BEYOD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  try {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    for (let t = 0; !/port (\d+)/.test(out); t++) {
      if (child.exitCode !== null || t > 300) throw new Error(`${kind}: the server did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const port = Number(/port (\d+)/.exec(out)?.[1]);
    const idle = await ask<{ rss: number; heap: number; external: number }>(child, 'memory');
    const sockets = await open(port, connections);
    let compressed = '';
    await Promise.all(
      sockets.map((ws, i) => {
        ws.send(message(i));
        return once(ws, 'message');
      }),
    );
    compressed = sockets[0]?.extensions ? 'yes' : 'no';
    const busy = await ask<{ rss: number; heap: number; external: number }>(child, 'memory');
    for (const ws of sockets) ws.terminate();
    const per = (k: 'rss' | 'heap' | 'external') => Math.round((busy[k] - idle[k]) / connections / 1024);
    // echo throughput
    const clients = await open(port, 20);
    const payloads = Array.from({ length: 16 }, (_, i) => message(i));
    let echoes = 0;
    let running = true;
    for (const ws of clients) {
      ws.on('message', () => {
        echoes++;
        if (running) ws.send(payloads[echoes & 15] as string);
      });
      for (let i = 0; i < 8; i++) ws.send(payloads[i] as string);
    }
    const cpu0 = (await ask<{ cpu: number }>(child, 'cpu')).cpu;
    const e0 = echoes;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, duration * 1000));
    const cpu1 = (await ask<{ cpu: number }>(child, 'cpu')).cpu;
    const done = echoes - e0;
    const seconds = (Date.now() - t0) / 1000;
    running = false;
    for (const ws of clients) ws.terminate();
    return [
      kind,
      compressed,
      per('rss'),
      per('heap'),
      per('external'),
      Math.round(done / seconds),
      ((cpu1 - cpu0) / (done / 1000)).toFixed(1),
    ];
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  beginReport('websocket-deflate');
  const rows: Array<Array<string | number>> = [];
  for (const kind of KINDS) rows.push(await run(kind));
  printTable(
    `permessage-deflate: ${connections} connections, messages of ${size} bytes`,
    ['server', 'compressed', 'KiB RSS / conn', 'KiB heap / conn', 'KiB external / conn', 'echoes/s', 'server CPU ms / 1000 echoes'],
    rows,
  );
  endReport();
}

void main();
