/*
 * bench/connections: memory per idle connection. N connections (default 8,000) each send one
 * line to a line echo and get it back, then stay open; the server's memory after a full GC,
 * minus its memory before, divided by N. beyod (Listener + text.Parser + text.Handler) against
 * a bare node:net line echo, with the same client, one after the other, in fresh processes.
 * Goal: beyod <= 1.2x the bare server. Usage: npm run bench:connections [-- N rounds [kinds]]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { beginReport, endReport, machine, median, printTable, REGISTER, stopChild } from '../lib';

const N = Number(process.argv[2] ?? 8000);
const rounds = Number(process.argv[3] ?? 3);
const kinds = (process.argv[4] ?? 'beyod,bare').split(',') as Array<'beyod' | 'bare'>;

interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}
interface PerConn {
  rss: number;
  heapTotal: number;
  heap: number;
  external: number;
}

function start(file: string, args: string[], gc: boolean): ChildProcess {
  return spawn(process.execPath, [...(gc ? ['--expose-gc'] : []), '-r', REGISTER, file, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Lines a child prints, one at a time. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: Array<(l: string) => void> = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w(l);
      else queue.push(l);
    }
  });
  return () => {
    const l = queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
    });
  };
}

async function once(kind: 'beyod' | 'bare'): Promise<PerConn> {
  const server = start(`${__dirname}/servers.ts`, [kind], true);
  const fromServer = lines(server);
  let client: ChildProcess | undefined;
  try {
    const port = await fromServer();
    const mem = async (): Promise<Mem> => {
      server.stdin!.write('mem\n');
      return JSON.parse(await fromServer()) as Mem;
    };
    const before = await mem();
    client = start(`${__dirname}/load.ts`, ['127.0.0.1', port, String(N)], false);
    const fromClient = lines(client);
    const ready = await fromClient();
    if (ready !== 'ready') throw new Error(`client said ${ready}`);
    const after = await mem();
    return {
      rss: (after.rss - before.rss) / N,
      heapTotal: (after.heapTotal - before.heapTotal) / N,
      heap: (after.heapUsed - before.heapUsed) / N,
      external: (after.external - before.external) / N,
    };
  } finally {
    if (client) {
      client.stdin!.end();
      await stopChild(client);
    }
    await stopChild(server);
  }
}

(async () => {
  beginReport('connections');
  console.log(`bench/connections — ${machine()}`);
  console.log(`${N} idle connections, each sent one line and got it back; ${rounds} rounds, fresh processes`);
  const r = { beyod: [] as PerConn[], bare: [] as PerConn[] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of kinds) {
      const m = await once(kind);
      r[kind].push(m);
      console.log(
        `  round ${i + 1} ${kind.padEnd(5)} rss ${m.rss.toFixed(0)} B, heap total ${m.heapTotal.toFixed(0)} B, used ${m.heap.toFixed(0)} B, external ${m.external.toFixed(0)} B per connection`,
      );
    }
  }
  if (kinds.length < 2) return;
  const med = (xs: PerConn[], k: keyof PerConn) => median(xs.map((x) => x[k]));
  const row = (label: string, k: keyof PerConn) => {
    const b = med(r.beyod, k);
    const n = med(r.bare, k);
    return [label, `${(b / 1024).toFixed(2)} KB`, `${(n / 1024).toFixed(2)} KB`, `${(b / n).toFixed(2)}x`];
  };
  printTable(
    'memory per idle connection (median; KB = 1024 bytes)',
    ['measure', 'beyod text echo', 'bare node:net line echo', 'ratio'],
    [row('RSS', 'rss'), row('JS heap total', 'heapTotal'), row('JS heap used', 'heap'), row('external (buffers)', 'external')],
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
