/*
 * The two line-echo servers of bench/connections, one per process: `beyod` (a Listener with
 * text.Parser and text.Handler, which echoes) or `bare` (node:net, a hand-written line echo).
 * Prints the port; then, for each line "mem" on stdin, collects garbage and prints the
 * process's memory as one JSON line. Run with --expose-gc.
 */
import * as net from 'node:net';
import * as readline from 'node:readline';
import { Listener } from '@beyod/core';
import { text } from '@beyod/protocols';

async function beyod(): Promise<number> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: text.Parser, handler: text.Handler });
  l.init();
  await l.start();
  return l.port;
}

/** A line echo as a Node developer writes it by hand: one closure per socket, partial line kept. */
function bare(): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    let partial = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) socket.write(`${line}\n`);
    });
    socket.on('error', () => {});
  });
  server.maxConnections = Infinity;
  return new Promise((resolve) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

function memory(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

const kind = process.argv[2];
(kind === 'bare' ? bare() : beyod()).then((port) => {
  console.log(port);
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() === 'mem') console.log(JSON.stringify(memory()));
  });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
