/*
 * bench/echo: the same frame-echo load (50 connections x 64 pipelined 32-byte frames) through
 * a beyod Listener + frame parser and through a bare node:net server, alternating, 3 rounds.
 * Goal: beyod >= 0.9x bare node. Usage: npm run bench:echo [-- seconds rounds]
 */
import { firstLine, machine, median, output, printTable, runTs, stopChild } from '../lib';

const seconds = process.argv[2] ?? '5';
const rounds = Number(process.argv[3] ?? 3);
const CONNS = '50';
const WINDOW = '64';
const SIZE = '32';

async function once(kind: 'beyod' | 'bare'): Promise<number> {
  const server = runTs(`${__dirname}/servers.ts`, [kind]);
  try {
    const port = await firstLine(server);
    const load = runTs(`${__dirname}/load.ts`, ['127.0.0.1', port, CONNS, WINDOW, SIZE, seconds]);
    const r = JSON.parse(await output(load)) as { msgs: number; seconds: number };
    return r.msgs / r.seconds;
  } finally {
    await stopChild(server);
  }
}

(async () => {
  console.log(`bench/echo — ${machine()}`);
  console.log(`load: ${CONNS} connections x ${WINDOW} frames of ${SIZE} bytes in flight, ${seconds} s per run, ${rounds} rounds`);
  const results = { beyod: [] as number[], bare: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of ['beyod', 'bare'] as const) {
      const r = await once(kind);
      results[kind].push(r);
      console.log(`  round ${i + 1} ${kind.padEnd(5)} ${Math.round(r).toLocaleString('en-US')} msgs/s`);
    }
  }
  const b = median(results.beyod);
  const n = median(results.bare);
  printTable(
    'frame echo, msgs/s (median)',
    ['server', 'msgs/s', 'ratio to bare node:net'],
    [
      ['beyod Listener + frame.Parser', b, `${(b / n).toFixed(2)}x`],
      ['bare node:net, hand-written loop', n, '1.00x'],
    ],
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
