/*
 * bench/scale: the same publish -> deliver workload (cluster-push: each worker subscribed to its
 * GPID, publishers pushing to GPIDs in turn) through the dispatcher Client API on each backend:
 *   - one beyod dispatcher           (tcp://...)
 *   - three beyod dispatchers        (tcp://a,tcp://b,tcp://c: rendezvous placement)
 *   - redis-server                   (redis://...)
 *   - Redis Cluster, 3 masters       (redis+cluster://...: SSUBSCRIBE / SPUBLISH)
 * Prints deliveries/s, latency p50/p99 (publish -> 'message' event), and the CPU the servers
 * used per delivery (all their processes, from /proc), which is the figure that says what each
 * backend costs when the load generator shares the cores.
 * Usage: npm run bench:scale [-- seconds rounds workers publishers]   (defaults 5 3 32 2)
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beginReport, cpuSeconds, endReport, firstLine, freePort, machine, median, printTable, runTs, stopChild, waitPort } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const workers = process.argv[4] ?? '32';
const publishers = process.argv[5] ?? '2';

type Kind = 'dispatcher' | 'sharded' | 'redis' | 'cluster';
const LABEL: Record<Kind, string> = {
  dispatcher: '1 beyod dispatcher',
  sharded: '3 beyod dispatchers',
  redis: 'redis-server',
  cluster: 'Redis Cluster (3 masters, no replicas)',
};

interface Backend {
  target: string;
  pids: number[];
  stop(): Promise<void>;
}

async function dispatchers(n: number): Promise<Backend> {
  const children = Array.from({ length: n }, () => runTs(path.join(__dirname, '../dispatcher/server.ts')));
  const ports = await Promise.all(children.map((c) => firstLine(c)));
  return {
    target: ports.map((p) => `tcp://127.0.0.1:${p}`).join(','),
    pids: children.map((c) => c.pid!),
    stop: async () => void (await Promise.all(children.map(stopChild))),
  };
}

async function redisServer(port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitPort(port);
  return child;
}

async function redis(): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beyod-bench-redis-'));
  const port = await freePort();
  const child = await redisServer(port, dir);
  return {
    target: `redis://127.0.0.1:${port}?prefix=bench`,
    pids: [child.pid!],
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function cluster(): Promise<Backend> {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beyod-bench-cluster-'));
    const port = await freePort();
    const bus = await freePort();
    dirs.push(dir);
    ports.push(port);
    children.push(
      await redisServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(bus)]),
    );
  }
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], { stdio: 'ignore' });
  const deadline = Date.now() + 20000;
  while (
    !ports.every((p) => /cluster_state:ok/.test(spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout))
  ) {
    if (Date.now() > deadline) throw new Error('the bench cluster did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    target: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}?prefix=bench`,
    pids: children.map((c) => c.pid!),
    stop: async () => {
      await Promise.all(children.map(stopChild));
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

async function measure(kind: Kind): Promise<Record<string, number>> {
  const backend =
    kind === 'dispatcher'
      ? await dispatchers(1)
      : kind === 'sharded'
        ? await dispatchers(3)
        : kind === 'redis'
          ? await redis()
          : await cluster();
  try {
    const cpu0 = backend.pids.reduce((s, p) => s + cpuSeconds(p), 0);
    const load = runTs(path.join(__dirname, 'load.ts'), [backend.target, seconds, workers, publishers]);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      load.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      load.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`load on ${kind} exited with ${code}`))));
    });
    const r = JSON.parse(line) as Record<string, number>;
    const cpu = backend.pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
    // over the whole load run (warm-up included), so per delivery of the whole run
    r.cpuUsPerDelivery = (cpu / (r.deliveredTotal ?? NaN)) * 1e6;
    return r;
  } finally {
    await backend.stop();
  }
}

(async () => {
  beginReport('scale');
  const haveRedis = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;
  console.log(`bench/scale — ${machine()}`);
  console.log(`${seconds} s per measurement, ${rounds} rounds, ${workers} workers (one GPID channel each), ${publishers} publishers`);
  if (haveRedis) console.log(`redis: ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  else console.log('redis-server / redis-cli missing (apt-get install redis-server): beyod figures only');
  const kinds: Kind[] = haveRedis ? ['dispatcher', 'sharded', 'redis', 'cluster'] : ['dispatcher', 'sharded'];
  const res = new Map<Kind, Array<Record<string, number>>>(kinds.map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) {
    for (const kind of kinds) {
      const r = await measure(kind);
      res.get(kind)!.push(r);
      console.log(
        `  round ${i + 1} ${LABEL[kind].padEnd(26)} ${Math.round(r.deliveredPerSec ?? 0).toLocaleString('en-US')} deliveries/s, ` +
          `p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms, server CPU ${r.cpuUsPerDelivery?.toFixed(2)} µs/delivery`,
      );
    }
  }
  const m = (kind: Kind, k: string) => median(res.get(kind)!.map((r) => r[k] ?? NaN));
  const base = m('dispatcher', 'deliveredPerSec');
  printTable(
    `publish -> deliver through the Client API (median of ${rounds}; ${workers} subscribers on their own GPID, ${publishers} publishers, 256 in flight)`,
    ['backend', 'deliveries/s', 'vs 1 dispatcher', 'p50 ms', 'p99 ms', 'server CPU µs/delivery'],
    kinds.map((k) => [
      LABEL[k],
      m(k, 'deliveredPerSec'),
      `${(m(k, 'deliveredPerSec') / base).toFixed(2)}x`,
      m(k, 'p50').toFixed(2),
      m(k, 'p99').toFixed(2),
      m(k, 'cpuUsPerDelivery').toFixed(2),
    ]),
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
