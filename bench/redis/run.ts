/*
 * bench/redis: pipelined GET/SET through redis.Client and through ioredis (default options, and
 * with enableAutoPipelining), against the same redis-server (started here on a free loopback
 * port), alternating, 3 rounds, median. Also the client process's CPU time per command.
 * Two loads: 1 connection with 100 commands in flight, and 1 connection with 1 (no pipelining).
 * Goal: redis.Client >= 1.0x ioredis. Usage: npm run bench:redis [-- seconds rounds]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as net from 'node:net';
import { beginReport, endReport, freePort, machine, median, output, printTable, runTs } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const LOADS = [
  { conns: 1, window: 100 },
  { conns: 1, window: 1 },
];

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

async function startRedis(): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  proc.on('error', (e) => {
    console.error(`cannot start redis-server (apt-get install redis-server): ${e.message}`);
    process.exit(1);
  });
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, proc };
}

const CLIENTS = ['beyod', 'ioredis', 'ioredis-auto'] as const;
type ClientKind = (typeof CLIENTS)[number];

async function once(client: ClientKind, port: number, conns: number, window: number): Promise<{ rate: number; cpuUs: number }> {
  const load = runTs(`${__dirname}/load.ts`, [client, String(port), String(conns), String(window), seconds]);
  const r = JSON.parse(await output(load)) as { ops: number; seconds: number; cpu: number };
  return { rate: r.ops / r.seconds, cpuUs: (r.cpu / r.ops) * 1e6 };
}

(async () => {
  beginReport('redis');
  const { port, proc } = await startRedis();
  try {
    const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim().split(' ').slice(0, 3).join(' ');
    console.log(`bench/redis — ${machine()}, ${version}`);
    console.log(`SET/GET of 32-byte values over 1,000 keys, ${seconds} s per run after 1 s warm-up, ${rounds} rounds, median`);
    const rows: Array<Array<string | number>> = [];
    for (const { conns, window } of LOADS) {
      const rate: Record<ClientKind, number[]> = { beyod: [], ioredis: [], 'ioredis-auto': [] };
      const cpu: Record<ClientKind, number[]> = { beyod: [], ioredis: [], 'ioredis-auto': [] };
      for (let i = 0; i < rounds; i++) {
        // alternate the order, so no client always runs on a warmer (or busier) machine
        for (const client of i % 2 === 0 ? CLIENTS : [...CLIENTS].reverse()) {
          const r = await once(client, port, conns, window);
          rate[client].push(r.rate);
          cpu[client].push(r.cpuUs);
          console.log(
            `  ${conns} conn x ${window} in flight, round ${i + 1} ${client.padEnd(12)} ${Math.round(r.rate).toLocaleString('en-US')} ops/s, ${r.cpuUs.toFixed(2)} µs CPU/op`,
          );
        }
      }
      const load = `${conns} conn x ${window} in flight`;
      const b = median(rate.beyod);
      for (const client of CLIENTS) {
        const r = median(rate[client]);
        const label = client === 'beyod' ? 'redis.Client' : client === 'ioredis' ? 'ioredis' : 'ioredis, enableAutoPipelining';
        rows.push([load, label, r, median(cpu[client]).toFixed(2), client === 'beyod' ? '1.00x' : `${(b / r).toFixed(2)}x`]);
      }
    }
    printTable('redis GET/SET (median)', ['load', 'client', 'ops/s', 'client CPU µs/op', 'redis.Client ÷ this'], rows);
  } finally {
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  }
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
