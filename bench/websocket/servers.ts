/*
 * The WebSocket echo servers of bench/websocket, one per process: `servers.ts <kind>` prints
 * "port N" once listening (or "unavailable: why"), and runs until SIGTERM.
 *
 *   beyod   websocket.Parser + websocket.Handler on a core Listener
 *   ws      the `ws` package's WebSocketServer
 *   floor   a minimal hand-written WebSocket echo on bare node:net: the handshake (the key's
 *           SHA-1 accept), then frames echoed unmasked with their opcode, all the frames of one
 *           read in one write; no validation beyond framing (no UTF-8 check, no fragments
 *           joined, no limits) — the least a pure-Node WebSocket echo can do per message
 *   uws     uWebSockets.js (C++), its native binary loaded directly (see ../http/uws.ts)
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { Listener } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { WebSocketServer } from 'ws';
import { Unavailable, serve } from '../http/common';
import { loadUws } from '../http/uws';

class Echo extends websocket.Handler {
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    event.sender.send(event.message);
  }
}

async function beyod(): Promise<number> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: websocket.Parser, handler: Echo });
  l.init();
  await l.start();
  return l.port;
}

async function ws(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (c) => c.on('message', (data, isBinary) => c.send(data, { binary: isBinary })));
  await new Promise<void>((r) => wss.once('listening', r));
  return (wss.address() as net.AddressInfo).port;
}

// ---- the floor ----

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY_HEADER = /\r\nsec-websocket-key:\s*([^\r\n]*?)\s*\r\n/i;

type FloorSocket = net.Socket & { rest: Buffer | null; open: boolean };

function onFloorData(this: FloorSocket, chunk: Buffer): void {
  let d = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
  this.rest = null;
  if (!this.open) {
    const end = d.indexOf('\r\n\r\n');
    if (end < 0) {
      this.rest = d;
      return;
    }
    const key = KEY_HEADER.exec(d.toString('latin1', 0, end + 2))?.[1];
    if (key === undefined) {
      this.destroy();
      return;
    }
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    this.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    this.open = true;
    d = d.subarray(end + 4);
  }
  // An unmasked frame is never longer than the masked one it echoes: one buffer holds them all.
  const out = Buffer.allocUnsafe(d.length);
  let o = 0;
  let i = 0;
  let close = false;
  while (d.length - i >= 2) {
    const b0 = d[i]!;
    const b1 = d[i + 1]!;
    let len = b1 & 0x7f;
    let h = 2;
    if (len === 126) {
      if (d.length - i < 4) break;
      len = d.readUInt16BE(i + 2);
      h = 4;
    } else if (len === 127) {
      if (d.length - i < 10) break;
      len = Number(d.readBigUInt64BE(i + 2));
      h = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (d.length - i < h + (masked ? 4 : 0) + len) break;
    const opcode = b0 & 0x0f;
    // echo: FIN/RSV as sent, ping answered with a pong, the same length encoding, no mask
    out[o] = opcode === 0x9 ? (b0 & 0xf0) | 0xa : b0;
    out[o + 1] = b1 & 0x7f;
    for (let k = 2; k < h; k++) out[o + k] = d[i + k]!;
    o += h;
    i += h;
    if (masked) {
      const mask = d.subarray(i, i + 4);
      i += 4;
      for (let k = 0; k < len; k++) out[o + k] = d[i + k]! ^ mask[k & 3]!;
    } else {
      d.copy(out, o, i, i + len);
    }
    o += len;
    i += len;
    if (opcode === 0x8) {
      close = true;
      break;
    }
  }
  if (i < d.length && !close) this.rest = Buffer.from(d.subarray(i));
  if (o > 0) this.write(out.subarray(0, o));
  if (close) this.end();
}

async function floor(): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    const s = socket as FloorSocket;
    s.rest = null;
    s.open = false;
    s.on('data', onFloorData);
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function uws(): Promise<number> {
  const u = loadUws();
  if (typeof u === 'string') throw new Unavailable(u);
  return new Promise((resolve, reject) => {
    u.App()
      .ws('/*', {
        maxPayloadLength: 16 * 1024 * 1024,
        message: (c, message, isBinary) => {
          c.send(message, isBinary);
        },
      })
      .listen('127.0.0.1', 0, (token) => (token ? resolve(u.us_socket_local_port(token)) : reject(new Error('uWS could not listen'))));
  });
}

serve({ beyod, ws, floor, uws });
