/**
 * HTTP "hello world" keep-alive GETs: beyod's http.Parser + http.Handler against node:http,
 * the same number of workers, autocannon as the load, in one run; prints a table and the ratio.
 *
 *   node -r @beyod/cli/register bench/http/run.ts [--duration 10] [--connections 50] [--workers 1] [--pipelining 1] [--rounds 2]
 *
 * Each round measures both servers, in A B B A order over two rounds, so a machine that gets
 * busier or quieter during the run does not favour one side; the table shows the means.
 */
import * as path from 'node:path';
import autocannon from 'autocannon';
import { machine, option, startServer, table } from './common';

const duration = option('duration', 10);
const connections = option('connections', 50);
const workers = option('workers', 1);
const pipelining = option('pipelining', 1);
const rounds = option('rounds', 2);

async function load(port: number): Promise<autocannon.Result> {
  return autocannon({ url: `http://127.0.0.1:${port}/`, connections, pipelining, duration });
}

async function measure(kind: string): Promise<autocannon.Result> {
  const server = await startServer(path.join(__dirname, 'server.ts'), kind, workers);
  try {
    await autocannon({ url: `http://127.0.0.1:${server.port}/`, connections, duration: 1 }); // warm-up
    return await load(server.port);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const results: Record<string, autocannon.Result[]> = { beyod: [], node: [] };
  for (let i = 0; i < rounds; i++) {
    for (const kind of i % 2 === 0 ? ['beyod', 'node'] : ['node', 'beyod']) results[kind]?.push(await measure(kind));
  }
  const mean = (rs: autocannon.Result[], f: (r: autocannon.Result) => number) => rs.reduce((n, r) => n + f(r), 0) / rs.length;
  const row = (name: string, rs: autocannon.Result[]) => [
    name,
    Math.round(mean(rs, (r) => r.requests.average)),
    mean(rs, (r) => r.latency.p50).toFixed(1),
    mean(rs, (r) => r.latency.p99).toFixed(1),
    rs.reduce((n, r) => n + r.non2xx + r.errors, 0),
  ];
  const beyod = results.beyod as autocannon.Result[];
  const node = results.node as autocannon.Result[];
  console.log(
    `\nHTTP hello world, keep-alive GET: ${connections} connections, pipelining ${pipelining}, ${workers} worker(s), ${rounds} x ${duration} s each\n`,
  );
  console.log(table(['server', 'req/s', 'p50 ms', 'p99 ms', 'errors'], [row('beyod http', beyod), row('node:http', node)]));
  const ratio = mean(beyod, (r) => r.requests.average) / mean(node, (r) => r.requests.average);
  console.log(`\nratio beyod / node:http = ${ratio.toFixed(2)}x (goal >= 1.0x)`);
  console.log(machine());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
