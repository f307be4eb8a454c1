/*
 * bench/websocket: echo of small text messages through
 *   beyod     websocket.Parser + websocket.Handler
 *   ws        the `ws` package
 *   floor     a minimal hand-written WebSocket echo on bare node:net (servers.ts)
 *   uws       uWebSockets.js (C++), when its native binary loads
 * each in a process of its own, started once, all driven by the same raw load generator
 * (load.ts: pre-encoded masked frames, N connections, a window of frames in flight on each, no
 * WebSocket library). Rounds alternate the order; the table gives medians of msgs/s, the ratio
 * to the floor, and each server's OWN CPU per message (from /proc/<pid>/stat) — the generator
 * shares the cores with the server here, so CPU per message is the figure that says what a
 * server costs.
 *
 * Goal (issue 14): beyod >= 0.8x the floor.
 *
 *   npm run bench:websocket [-- --duration 5 --rounds 3 --connections 50 --window 16 --size 32
 *                              --servers beyod,ws,floor,uws --profile DIR]
 */
import * as path from 'node:path';
import { beginReport, endReport, note, output, printTable, runTs } from '../lib';
import { type ChildServer, type Sample, option, roundOrder, startServer, stopServers, stringOption, summarize } from '../http/common';

const duration = option('duration', 5);
const rounds = option('rounds', 3);
const connections = option('connections', 50);
const windowSize = option('window', 16);
const size = option('size', 32);
const profileDir = stringOption('profile', '');
const kinds = stringOption('servers', 'beyod,ws,floor,uws').split(',');
const LABEL: Record<string, string> = {
  beyod: 'beyod websocket.Parser + Handler',
  ws: 'ws 8',
  floor: 'bare node:net, minimal WebSocket echo (floor)',
  uws: 'uWebSockets.js 20.30 (C++)',
};

async function load(server: ChildServer, seconds: number): Promise<Sample> {
  const child = runTs(path.join(__dirname, 'load.ts'), [
    String(server.port),
    String(server.pid),
    String(connections),
    String(windowSize),
    String(size),
    String(seconds),
  ]);
  const r = JSON.parse(await output(child)) as { ops: number; seconds: number; cpu: number };
  return { ...r, errors: 0, p99ms: NaN };
}

async function main(): Promise<void> {
  beginReport('websocket');
  const servers: ChildServer[] = [];
  const missing: string[] = [];
  for (const kind of kinds) {
    const s = await startServer(path.join(__dirname, 'servers.ts'), kind, kind === 'beyod' ? profileDir : '');
    if (typeof s === 'string') missing.push(`${LABEL[kind] ?? kind}: unavailable — ${s}`);
    else servers.push(s);
  }
  const results = new Map<string, Sample[]>();
  try {
    console.log(
      `${connections} connections × ${windowSize} text messages of ${size} bytes in flight, ${duration} s per run (after 1 s of warm-up), ${rounds} rounds alternating`,
    );
    for (let i = 0; i < rounds; i++) {
      for (const s of roundOrder(servers, i)) {
        const r = await load(s, duration);
        results.set(s.kind, [...(results.get(s.kind) ?? []), r]);
        console.log(
          `  round ${i + 1} ${s.kind.padEnd(5)} ${Math.round(r.ops / r.seconds).toLocaleString('en-US')} msgs/s, server CPU ${((r.cpu / r.ops) * 1e6).toFixed(2)} µs/msg`,
        );
      }
    }
  } finally {
    await stopServers(servers);
  }
  const floor = results.get('floor') ? summarize(results.get('floor')!) : undefined;
  printTable(
    `WebSocket echo, ${size}-byte text, ${connections} connections × ${windowSize} in flight, one raw load generator (median of ${rounds} × ${duration} s)`,
    ['server', 'msgs/s', 'ratio to floor', 'server CPU µs/msg', 'CPU ratio (floor ÷ this)'],
    servers.map((s) => {
      const r = summarize(results.get(s.kind) ?? []);
      return [
        LABEL[s.kind] ?? s.kind,
        Math.round(r.rate),
        floor ? `${(r.rate / floor.rate).toFixed(2)}x` : '-',
        r.cpuUs.toFixed(2),
        floor ? `${(floor.cpuUs / r.cpuUs).toFixed(2)}x` : '-',
      ];
    }),
  );
  const b = results.get('beyod');
  if (b && floor) {
    const r = summarize(b);
    note(
      `Goal: beyod ≥ 0.80x the floor: ${(r.rate / floor.rate).toFixed(2)}x on msgs/s, ${(floor.cpuUs / r.cpuUs).toFixed(2)}x on server CPU per message.`,
    );
  }
  for (const m of missing) note(m);
  endReport();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
