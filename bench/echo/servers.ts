/*
 * The two echo servers of bench/echo, one per process: `beyod` (a Listener with the frame
 * parser and an echo handler) or `bare` (node:net with a hand-written length-prefix loop and
 * batched writes, the peer). Prints the port, then serves until killed.
 */
import * as net from 'node:net';
import { Handler, Listener, type MessageEvent } from '@beyod/core';
import { frame } from '@beyod/protocols';

class Echo extends Handler {
  override onMessage(e: MessageEvent): void {
    e.sender.send(e.message);
  }
}

async function beyod(): Promise<number> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: frame.Parser, handler: Echo });
  l.init();
  await l.start();
  return l.port;
}

/** What a careful Node developer writes by hand: chunk list, copy only across chunks, cork. */
function bare(): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      socket.cork();
      let off = 0;
      while (buf.length - off >= 4) {
        const n = buf.readUInt32BE(off);
        if (n < 4) return socket.destroy();
        if (buf.length - off < n) break;
        socket.write(buf.subarray(off, off + n));
        off += n;
      }
      socket.uncork();
      if (off < buf.length) pending = buf.subarray(off);
      buf = chunk;
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

const kind = process.argv[2];
(kind === 'bare' ? bare() : beyod()).then((port) => console.log(port));
// exit normally on a signal, so `node --cpu-prof` writes its profile
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
