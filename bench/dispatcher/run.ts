/*
 * bench/dispatcher: the beyod dispatcher against redis-server, both driven by the same raw load
 * generator (load.ts: requests encoded once and pipelined on plain sockets, subscribers counting
 * frames, no client library on either side), alternating, N rounds, medians. Each row gives the
 * throughput and the SERVER's own CPU per operation (from /proc/<pid>/stat over the measured
 * window): on this small machine the generator shares the cores, so the CPU figure is the one
 * that says what each server costs.
 *
 *   fan-out 1 → 20, 1 → 200   one publisher, one channel, 20 / 200 subscribers, 64-byte payload
 *   many publishers           20 publishers, each on its own channel with one subscriber
 *   SET, GET                  10 connections × 256 requests in flight, 64-byte values
 *
 * Goal (issue 14): beyod ≥ 1.0× redis-server on deliveries/s and on CPU per delivery.
 * Usage: npm run bench:dispatcher [-- seconds rounds scenarios]   (defaults 5 3 all;
 * scenarios e.g. fanout:20,set). The client libraries have their own bench (bench/redis).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beginReport, endReport, firstLine, freePort, machine, median, printTable, stopChild, waitPort } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const SCENARIOS: Array<[string, string]> = [
  ['fanout:20', 'fan-out 1 → 20 (deliveries)'],
  ['fanout:200', 'fan-out 1 → 200 (deliveries)'],
  ['many:20', '20 publishers → 20 channels × 1 (deliveries)'],
  ['set', 'SET (answers)'],
  ['get', 'GET (answers)'],
];
const only = process.argv[4]?.split(',');
const scenarios = only ? SCENARIOS.filter(([s]) => only.includes(s)) : SCENARIOS;
const ROOT = path.resolve(__dirname, '../..');

type Impl = 'beyod' | 'redis';

function node(file: string, args: string[], execArgv: string[] = []): ChildProcess {
  return spawn(process.execPath, [...execArgv, '-r', '@beyod/cli/register', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function startServer(impl: Impl): Promise<{ child: ChildProcess; port: number }> {
  if (impl === 'beyod') {
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const child = node(path.join(__dirname, 'server.ts'), [], prof);
    return { child, port: Number(await firstLine(child)) };
  }
  const port = await freePort();
  // like the beyod side: no persistence; the pub/sub output buffer limit is Redis's default
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitPort(port);
  return { child, port };
}

interface Result {
  rate: number;
  cpuUs: number;
}

async function measure(impl: Impl, scenario: string): Promise<Result> {
  const server = await startServer(impl);
  try {
    const load = node(path.join(__dirname, 'load.ts'), [scenario, impl, String(server.port), String(server.child.pid), seconds]);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      load.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      load.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`load ${impl} ${scenario} exited with ${code}`))));
    });
    const r = JSON.parse(line) as { ops: number; seconds: number; cpu: number };
    return { rate: r.ops / r.seconds, cpuUs: (r.cpu / r.ops) * 1e6 };
  } finally {
    await stopChild(server.child);
  }
}

(async () => {
  beginReport('dispatcher');
  const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
  console.log(`bench/dispatcher — ${machine()}`);
  console.log(`${seconds} s per measurement (after 1 s of warm-up), ${rounds} rounds, beyod and redis alternating`);
  if (!haveRedis) console.log('redis-server is missing (apt-get install redis-server): beyod figures only, no ratios');
  else console.log(`peer: ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  const impls: Impl[] = haveRedis ? ['beyod', 'redis'] : ['beyod'];
  const res = new Map<string, Result[]>();
  for (let i = 0; i < rounds; i++) {
    for (const [scenario] of scenarios) {
      // alternate which server goes first, so neither always runs on a warmer (or busier) machine
      for (const impl of i % 2 === 0 ? impls : [...impls].reverse()) {
        const r = await measure(impl, scenario);
        const key = `${scenario} ${impl}`;
        res.set(key, [...(res.get(key) ?? []), r]);
        console.log(
          `  round ${i + 1} ${scenario.padEnd(10)} ${impl.padEnd(5)} ${Math.round(r.rate).toLocaleString('en-US')}/s, server CPU ${r.cpuUs.toFixed(3)} µs/op`,
        );
      }
    }
  }
  const m = (scenario: string, impl: Impl, k: keyof Result) => {
    const xs = res.get(`${scenario} ${impl}`);
    return xs ? median(xs.map((r) => r[k])) : NaN;
  };
  const ratio = (x: number) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)}x`);
  printTable(
    `dispatcher vs redis-server, one raw load generator (median of ${rounds}; ratio > 1 = beyod better)`,
    ['workload', 'beyod ops/s', 'redis ops/s', 'ratio', 'beyod CPU µs/op', 'redis CPU µs/op', 'CPU ratio'],
    scenarios.map(([scenario, label]) => {
      const [br, rr, bc, rc] = [
        m(scenario, 'beyod', 'rate'),
        m(scenario, 'redis', 'rate'),
        m(scenario, 'beyod', 'cpuUs'),
        m(scenario, 'redis', 'cpuUs'),
      ];
      return [
        label,
        br,
        Number.isNaN(rr) ? '-' : rr,
        ratio(br / rr),
        bc.toFixed(3),
        Number.isNaN(rc) ? '-' : rc.toFixed(3),
        ratio(rc / bc),
      ];
    }),
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
