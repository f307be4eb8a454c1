/*
 * bench/dispatcher: the beyod dispatcher against redis-server, in the same run, through the same
 * kind of Node load (dispatcher Client vs ioredis), alternating, N rounds:
 *   - pub/sub: 1 publisher, 50 subscribers on one channel, at most 100 messages published and
 *     not yet delivered to everyone; deliveries/s and latency (publish -> 'message' event) p50/p99;
 *   - SET then GET: 10 clients x 32 requests in flight, ops/s.
 * Goal: beyod >= 1.0x Redis on delivered messages per second. Both servers share the 2 cores
 * with the Node load, whose client library is often the limit; the server CPU rows say how much
 * CPU each server itself needed per unit of work.
 * Usage: npm run bench:dispatcher [-- seconds rounds subscribers]   (defaults 5 3 50)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cpuSeconds, firstLine, freePort, machine, median, printTable, stopChild, waitPort } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const subscribers = process.argv[4] ?? '50';
const ROOT = path.resolve(__dirname, '../..');

type Impl = 'beyod' | 'redis';

function node(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-r', '@beyod/cli/register', file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function startServer(impl: Impl): Promise<{ child: ChildProcess; port: number }> {
  if (impl === 'beyod') {
    const child = node(path.join(__dirname, 'server.ts'), []);
    return { child, port: Number(await firstLine(child)) };
  }
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitPort(port);
  return { child, port };
}

async function measure(impl: Impl, kind: 'pubsub' | 'setget'): Promise<Record<string, number>> {
  const server = await startServer(impl);
  try {
    const cpu0 = cpuSeconds(server.child.pid);
    const load = node(path.join(__dirname, 'load.ts'), [kind, impl, String(server.port), seconds, subscribers]);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      load.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      load.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`load ${impl} ${kind} exited with ${code}`))));
    });
    const r = JSON.parse(line) as Record<string, number>;
    // server CPU per unit of work, over the whole load run (warm-up included): the load
    // generator shares the cores, so this says how much of them each server needed
    const cpu = cpuSeconds(server.child.pid) - cpu0;
    if (kind === 'pubsub') r.cpuPerMillionDeliveries = (cpu / (r.deliveredTotal ?? NaN)) * 1e6;
    else r.cpuPerMillionOps = (cpu / (r.opsTotal ?? NaN)) * 1e6;
    return r;
  } finally {
    await stopChild(server.child);
  }
}

(async () => {
  const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
  console.log(`bench/dispatcher — ${machine()}`);
  console.log(`${seconds} s per measurement, ${rounds} rounds, ${subscribers} subscribers`);
  if (!haveRedis) console.log('redis-server is missing (apt-get install redis-server): beyod figures only, no ratios');
  else
    console.log(
      `peer: ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim()}, started by this bench on a free port`,
    );
  const impls: Impl[] = haveRedis ? ['beyod', 'redis'] : ['beyod'];
  const res: Record<Impl, Array<Record<string, number>>> = { beyod: [], redis: [] };
  for (let i = 0; i < rounds; i++) {
    for (const impl of impls) {
      const r = { ...(await measure(impl, 'pubsub')), ...(await measure(impl, 'setget')) };
      res[impl].push(r);
      const f = (n: number | undefined) => Math.round(n ?? 0).toLocaleString('en-US');
      console.log(
        `  round ${i + 1} ${impl.padEnd(5)} ${f(r.deliveredPerSec)} deliveries/s, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms, SET ${f(r.setPerSec)}/s, GET ${f(r.getPerSec)}/s`,
      );
    }
  }
  const m = (impl: Impl, k: string) => (res[impl].length ? median(res[impl].map((r) => r[k] ?? NaN)) : NaN);
  const rows: Array<[string, string, boolean]> = [
    ['pub/sub deliveries/s', 'deliveredPerSec', true],
    ['pub/sub latency p50 (ms)', 'p50', false],
    ['pub/sub latency p99 (ms)', 'p99', false],
    ['SET ops/s', 'setPerSec', true],
    ['GET ops/s', 'getPerSec', true],
    ['server CPU s per 1M deliveries', 'cpuPerMillionDeliveries', false],
    ['server CPU s per 1M SET+GET', 'cpuPerMillionOps', false],
  ];
  printTable(
    `dispatcher vs redis-server (median of ${rounds}; 1 publisher, ${subscribers} subscribers; 10 clients x 32 in flight for SET/GET)`,
    ['workload', 'beyod', 'redis', 'ratio (>1 = beyod better)'],
    rows.map(([label, k, higherIsBetter]) => {
      const b = m('beyod', k);
      const r = m('redis', k);
      const ratio = Number.isNaN(r) ? '-' : `${(higherIsBetter ? b / r : r / b).toFixed(2)}x`;
      return [label, b, Number.isNaN(r) ? '-' : r, ratio];
    }),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
