/*
 * bench/http: "hello world" keep-alive GETs, driven by wrk (C, 1 thread), against
 *   beyod     http.Parser + http.Handler
 *   node      node:http
 *   floor     a bare node:net server writing a fixed response per request head (servers.ts)
 *   uws       uWebSockets.js (C++), when its native binary loads
 * each in a process of its own, started once; rounds alternate the order (A B C D, D C B A, ...)
 * and the table gives medians. Two loads: without pipelining, and with --pipeline requests
 * sent at once per connection (a wrk Lua script). Beside req/s: the ratio to the floor and each
 * server's OWN CPU per request (from /proc/<pid>/stat over the measured window) — wrk shares
 * the cores with the server here, so CPU per request is the figure that says what a server
 * costs. autocannon (a Node load generator) runs once per server as a second opinion.
 *
 * Goal (issue 14): beyod without pipelining >= 0.8x the floor.
 *
 *   npm run bench:http [-- --duration 5 --rounds 3 --connections 50 --pipeline 16
 *                         --servers beyod,node,floor,uws --autocannon 5 --profile DIR]
 *
 * --autocannon 0 skips the second opinion; --profile DIR runs the beyod server under
 * --cpu-prof and writes DIR/beyod.cpuprofile when it stops.
 */
import { spawnSync, execFile } from 'node:child_process';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { beginReport, endReport, note, printTable } from '../lib';
import { type ChildServer, type Sample, measure, option, roundOrder, startServer, stopServers, stringOption, summarize } from './common';

const duration = option('duration', 5);
const rounds = option('rounds', 3);
const connections = option('connections', 50);
const pipeline = option('pipeline', 16);
const autocannonSeconds = option('autocannon', 5);
const profileDir = stringOption('profile', '');
const kinds = stringOption('servers', 'beyod,node,floor,uws').split(',');
const LABEL: Record<string, string> = {
  beyod: 'beyod http.Parser + Handler',
  node: 'node:http',
  floor: 'bare node:net, fixed response per request (floor)',
  uws: 'uWebSockets.js 20.30 (C++)',
};
const SCRIPT = path.join(__dirname, 'servers.ts');
const LUA = path.join(__dirname, 'pipeline.lua');

/** wrk on PATH, installed from Debian when missing and we may; else why not. */
function ensureWrk(): string | undefined {
  if (spawnSync('wrk', ['-v']).error === undefined) return undefined;
  console.log('wrk is missing: trying apt-get install -y wrk');
  const root = process.getuid?.() === 0;
  const run = (args: string[]) => spawnSync(root ? 'apt-get' : 'sudo', root ? args : ['-n', 'apt-get', ...args], { stdio: 'inherit' });
  run(['update']);
  run(['install', '-y', 'wrk']);
  if (spawnSync('wrk', ['-v']).error === undefined) return undefined;
  return 'wrk is missing and could not be installed (apt-get install wrk, as root): no HTTP figures';
}

function wrk(port: number, seconds: number, depth: number): Promise<Omit<Sample, 'cpu'>> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
  if (depth > 1) args.push('-s', LUA);
  args.push(`http://127.0.0.1:${port}/`);
  if (depth > 1) args.push('--', String(depth));
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(err);
      const m = /(\d+) requests in ([\d.]+)(\w+)/.exec(stdout);
      if (!m) return reject(new Error(`wrk printed no count:\n${stdout}`));
      const unit = m[3] === 'm' ? 60 : m[3] === 'ms' ? 0.001 : 1;
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
      const p99ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : NaN;
      const errors = (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
      resolve({ ops: Number(m[1]), seconds: Number(m[2]) * unit, errors, p99ms });
    });
  });
}

async function viaAutocannon(port: number): Promise<Omit<Sample, 'cpu'>> {
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: autocannonSeconds });
  return { ops: r.requests.total, seconds: r.duration, errors: r.errors + r.non2xx + r.timeouts, p99ms: r.latency.p99 };
}

function tableOf(title: string, servers: ChildServer[], results: Map<string, Sample[]>, floorKey: string): void {
  const floor = results.get(floorKey) ? summarize(results.get(floorKey)!).rate : NaN;
  printTable(
    title,
    ['server', 'req/s', 'ratio to floor', 'server CPU µs/req', 'p99 ms', 'errors'],
    servers.map((s) => {
      const r = summarize(results.get(s.kind) ?? []);
      return [
        LABEL[s.kind] ?? s.kind,
        Math.round(r.rate),
        Number.isNaN(floor) ? '-' : `${(r.rate / floor).toFixed(2)}x`,
        r.cpuUs.toFixed(2),
        r.p99ms.toFixed(2),
        r.errors,
      ];
    }),
  );
}

async function main(): Promise<void> {
  beginReport('http');
  const noWrk = ensureWrk();
  if (noWrk !== undefined) {
    note(noWrk);
    endReport();
    process.exit(1);
  }
  const servers: ChildServer[] = [];
  const missing: string[] = [];
  for (const kind of kinds) {
    const s = await startServer(SCRIPT, kind, kind === 'beyod' ? profileDir : '');
    if (typeof s === 'string') missing.push(`${LABEL[kind] ?? kind}: unavailable — ${s}`);
    else servers.push(s);
  }
  try {
    console.log(`wrk -t1 -c${connections}, ${duration} s per run, ${rounds} rounds alternating; pipelining 1 and ${pipeline}`);
    for (const s of servers) await wrk(s.port, 2, 1); // warm-up (JIT)
    const loads = pipeline > 1 ? [1, pipeline] : [1]; // --pipeline 1: only without pipelining
    const results = loads.map(() => new Map<string, Sample[]>());
    for (let i = 0; i < rounds; i++) {
      for (const [l, depth] of loads.entries()) {
        for (const s of roundOrder(servers, i)) {
          const r = await measure(s, () => wrk(s.port, duration, depth));
          results[l]!.set(s.kind, [...(results[l]!.get(s.kind) ?? []), r]);
          console.log(
            `  round ${i + 1} pipelining ${String(depth).padEnd(2)} ${s.kind.padEnd(5)} ${Math.round(r.ops / r.seconds).toLocaleString('en-US')} req/s, server CPU ${((r.cpu / r.ops) * 1e6).toFixed(2)} µs/req`,
          );
        }
      }
    }
    for (const [l, depth] of loads.entries()) {
      tableOf(
        `wrk -t1 -c${connections}, keep-alive GET "hello world", ${depth === 1 ? 'no pipelining' : `${depth} pipelined`} (median of ${rounds} × ${duration} s)`,
        servers,
        results[l]!,
        'floor',
      );
    }
    const auto = new Map<string, Sample[]>();
    if (autocannonSeconds > 0) {
      for (const s of servers) auto.set(s.kind, [await measure(s, () => viaAutocannon(s.port))]);
      tableOf(
        `second opinion: autocannon -c${connections} (a Node load generator sharing the CPU; 1 run × ${autocannonSeconds} s)`,
        servers,
        auto,
        'floor',
      );
    }
    const ratio = (l: number) => {
      const b = results[l]!.get('beyod');
      const f = results[l]!.get('floor');
      return b && f ? summarize(b).rate / summarize(f).rate : NaN;
    };
    const cpuRatio = (l: number) => {
      const b = results[l]!.get('beyod');
      const f = results[l]!.get('floor');
      return b && f ? summarize(f).cpuUs / summarize(b).cpuUs : NaN;
    };
    note(
      `Goal: beyod without pipelining ≥ 0.80x the floor: ${ratio(0).toFixed(2)}x on req/s, ${cpuRatio(0).toFixed(2)}x on server CPU per request (floor µs ÷ beyod µs)` +
        (loads.length > 1 ? `; ${pipeline} pipelined: ${ratio(1).toFixed(2)}x / ${cpuRatio(1).toFixed(2)}x.` : '.'),
    );
    for (const m of missing) note(m);
  } finally {
    await stopServers(servers);
  }
  endReport();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
