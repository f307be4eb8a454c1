/*
 * bench/echo: the same frame-echo load (50 connections x 64 pipelined 32-byte frames) through
 * a beyod Listener + frame parser and through a bare node:net server, alternating, 3 rounds.
 * Goal: beyod >= 0.9x bare node. Server CPU per message is read from /proc over the measured
 * window. Usage: npm run bench:echo [-- seconds rounds]
 */
import { beginReport, endReport, firstLine, machine, median, note, output, printTable, runTs, stopChild } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const CONNS = '50';
const WINDOW = '64';
const SIZE = '32';

interface Result {
  rate: number;
  cpuUs: number;
}

async function once(kind: 'beyod' | 'bare'): Promise<Result> {
  const server = runTs(`${__dirname}/servers.ts`, [kind]);
  try {
    const port = await firstLine(server);
    const load = runTs(`${__dirname}/load.ts`, ['127.0.0.1', port, CONNS, WINDOW, SIZE, seconds], { BENCH_SERVER_PID: String(server.pid) });
    const r = JSON.parse(await output(load)) as { msgs: number; seconds: number; cpu?: number };
    return { rate: r.msgs / r.seconds, cpuUs: ((r.cpu ?? NaN) / r.msgs) * 1e6 };
  } finally {
    await stopChild(server);
  }
}

(async () => {
  beginReport('echo');
  console.log(`bench/echo — ${machine()}`);
  const load = `${CONNS} connections x ${WINDOW} frames of ${SIZE} bytes in flight, ${seconds} s per run, ${rounds} rounds alternating`;
  console.log(`load: ${load}`);
  const results = { beyod: [] as Result[], bare: [] as Result[] };
  for (let i = 0; i < rounds; i++) {
    // alternate which server goes first, so neither always runs on a warmer (or busier) machine
    for (const kind of i % 2 === 0 ? (['beyod', 'bare'] as const) : (['bare', 'beyod'] as const)) {
      const r = await once(kind);
      results[kind].push(r);
      console.log(
        `  round ${i + 1} ${kind.padEnd(5)} ${Math.round(r.rate).toLocaleString('en-US')} msgs/s, server CPU ${r.cpuUs.toFixed(3)} µs/msg`,
      );
    }
  }
  const rate = (k: 'beyod' | 'bare') => median(results[k].map((r) => r.rate));
  const cpu = (k: 'beyod' | 'bare') => median(results[k].map((r) => r.cpuUs));
  printTable(
    `frame echo: ${load} (median)`,
    ['server', 'msgs/s', 'ratio to bare node:net', 'server CPU µs/msg', 'CPU ratio (bare ÷ this)'],
    [
      [
        'beyod Listener + frame.Parser',
        rate('beyod'),
        `${(rate('beyod') / rate('bare')).toFixed(2)}x`,
        cpu('beyod').toFixed(3),
        `${(cpu('bare') / cpu('beyod')).toFixed(2)}x`,
      ],
      ['bare node:net, hand-written loop', rate('bare'), '1.00x', cpu('bare').toFixed(3), '1.00x'],
    ],
  );
  note('Goal (issue 3): beyod ≥ 0.9x bare node:net.');
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
