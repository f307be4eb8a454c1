/*
 * The client of bench/connections: opens N connections to host:port (at most 256 connecting
 * at a time), each sends one line and waits for its echo, then prints "ready" and keeps them
 * open until stdin closes.
 */
import * as net from 'node:net';

const [host = '127.0.0.1', portArg = '0', nArg = '8000'] = process.argv.slice(2);
const port = Number(portArg);
const N = Number(nArg);
const sockets: net.Socket[] = [];

function one(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    sockets.push(s);
    const line = `hello ${i}\n`;
    let got = '';
    s.setEncoding('utf8');
    s.once('connect', () => s.write(line));
    s.on('data', (d: string) => {
      got += d;
      if (got === line) resolve();
    });
    s.once('error', reject);
  });
}

(async () => {
  let next = 0;
  const lane = async () => {
    while (next < N) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(256, N) }, lane));
  console.log('ready');
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
