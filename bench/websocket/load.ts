/*
 * The raw load generator of bench/websocket: one program drives every server the same way, no
 * WebSocket library in the measured path. It opens N connections (a plain HTTP upgrade request
 * each), then keeps `window` masked text frames in flight on each: the frames are encoded once
 * before the run (one mask key, as the RFC allows any), and every echo received is answered with
 * the next frame, all the frames of one read in one write. Echoes are counted by size: every
 * frame a server sends back in a run is the same unmasked frame (2-byte header + payload for
 * payloads under 126 bytes, 4 or 10 above). The server's own CPU is read from /proc/<pid>/stat at
 * the start and the end of the measured window.
 *
 *   load.ts <port> <server pid> <connections> <window> <payload bytes> <seconds>
 * Prints one JSON line: { ops, seconds, cpu } (ops = echoes received in the window).
 */
import * as net from 'node:net';
import { cpuSeconds } from '../lib';

const [portArg, pidArg, connsArg = '50', windowArg = '16', sizeArg = '32', secondsArg = '5'] = process.argv.slice(2);
const port = Number(portArg);
const serverPid = Number(pidArg);
const conns = Number(connsArg);
const window = Number(windowArg);
const size = Number(sizeArg);
const seconds = Number(secondsArg);
const WARMUP_MS = 1000;

function maskedFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const h = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const f = Buffer.allocUnsafe(h + 4 + n);
  f[0] = 0x81; // FIN, text
  if (h === 2) f[1] = 0x80 | n;
  else if (h === 4) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  mask.copy(f, h);
  for (let i = 0; i < n; i++) f[h + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return f;
}

const FRAME = maskedFrame(Buffer.alloc(size, 'x'));
/** `window` frames back to back: k frames to send are its first k * FRAME.length bytes. */
const BATCH = Buffer.concat(Array<Buffer>(window).fill(FRAME));
const ECHO_SIZE = (size < 126 ? 2 : size < 65536 ? 4 : 10) + size;

let echoes = 0;

class Client {
  private bytes = 0;
  private open = false;
  private head = '';

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', (e) => {
      console.error(`connection error: ${e.message}`);
      process.exit(1);
    });
  }

  handshake(): Promise<void> {
    const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i * 7)).toString('base64');
    this.socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    return new Promise((resolve, reject) => {
      this.opened = resolve;
      this.socket.once('close', () => reject(new Error('closed during the handshake')));
    });
  }
  private opened: (() => void) | undefined;

  private data(d: Buffer): void {
    if (!this.open) {
      this.head += d.toString('latin1');
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!this.head.startsWith('HTTP/1.1 101')) {
        console.error(`handshake refused: ${this.head.split('\r\n')[0]}`);
        process.exit(1);
      }
      this.open = true;
      this.opened?.();
      return;
    }
    this.bytes += d.length;
    const k = Math.floor(this.bytes / ECHO_SIZE);
    if (k === 0) return;
    this.bytes -= k * ECHO_SIZE;
    echoes += k;
    this.socket.write(BATCH.subarray(0, k * FRAME.length));
  }

  start(): void {
    this.socket.write(BATCH);
  }
}

async function main(): Promise<void> {
  const clients: Client[] = [];
  for (let i = 0; i < conns; i++) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Client(socket);
    await c.handshake();
    clients.push(c);
  }
  for (const c of clients) c.start();
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const e0 = echoes;
  const c0 = cpuSeconds(serverPid);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const ops = echoes - e0;
  const cpu = cpuSeconds(serverPid) - c0;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ ops, seconds: elapsed, cpu }));
  for (const c of clients) c.socket.destroy();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
