/*
 * The "hello world" servers of bench/http, one per process: `servers.ts <kind>` prints
 * "port N" once listening (or "unavailable: why"), and runs until SIGTERM.
 *
 *   beyod   http.Parser + http.Handler on a core Listener
 *   node    node:http
 *   floor   bare node:net: counts the request heads in what it reads ("\r\n\r\n", also across
 *           chunks, so pipelining works) and writes one fixed response per head, all of a read
 *           in one write — the least any pure-Node server can do per request (no parsing, no
 *           objects); GET only, no bodies
 *   uws     uWebSockets.js (C++), its native binary loaded directly: the package would fall
 *           back to a ws-based JS implementation without saying so in its exports
 *
 * Every server answers with the same body and headers as beyod's (Date, Content-Type,
 * Content-Length); node:http adds Connection/Keep-Alive, uWS its own "uWebSockets" header.
 */
import * as net from 'node:net';
import * as nodeHttp from 'node:http';
import { Listener } from '@beyod/core';
import { http } from '@beyod/protocols';
import { Unavailable, serve } from './common';
import { loadUws } from './uws';

const BODY = 'hello world';
const TYPE = 'text/html; charset=utf-8';

class Hello extends http.Handler {
  override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end(BODY);
  }
}

async function beyod(): Promise<number> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: http.Parser, handler: Hello });
  l.init();
  await l.start();
  return l.port;
}

async function node(): Promise<number> {
  const server = nodeHttp.createServer((_req, res) => {
    res.setHeader('Content-Type', TYPE);
    res.end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

// ---- the floor ----

const HEAD_END = Buffer.from('\r\n\r\n');
let response = Buffer.alloc(0);
/** response repeated n times, for the n heads of one read (rebuilt with the Date). */
let repeated: Buffer[] = [];
function buildResponse(): void {
  response = Buffer.from(
    `HTTP/1.1 200 OK\r\nDate: ${new Date().toUTCString()}\r\nContent-Type: ${TYPE}\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`,
  );
  repeated = [Buffer.alloc(0), response];
}
function responses(n: number): Buffer {
  return (repeated[n] ??= Buffer.concat(Array<Buffer>(n).fill(response)));
}

type FloorSocket = net.Socket & { matched: number };

/** How many "\r\n\r\n" end in `d`, given that the last read ended with `s.matched` bytes of one. */
function countHeads(s: FloorSocket, d: Buffer): number {
  let n = 0;
  let from = 0;
  // a head end cut by the previous read
  if (s.matched > 0) {
    let m = s.matched;
    let i = 0;
    while (m < 4 && i < d.length && d[i] === HEAD_END[m]) {
      m++;
      i++;
    }
    if (m === 4) {
      n++;
      from = i;
    } else if (i === d.length) {
      s.matched = m; // still inside the same head end
      return 0;
    }
  }
  for (let at = d.indexOf(HEAD_END, from); at >= 0; at = d.indexOf(HEAD_END, at + 4)) {
    n++;
    from = at + 4;
  }
  // how much of a head end the read ends with (after the last complete one)
  let m = 0;
  for (let k = Math.min(3, d.length - from); k > 0; k--) {
    if (d.compare(HEAD_END, 0, k, d.length - k) === 0) {
      m = k;
      break;
    }
  }
  s.matched = m;
  return n;
}

function onFloorData(this: FloorSocket, d: Buffer): void {
  const n = countHeads(this, d);
  if (n > 0) this.write(responses(n));
}

async function floor(): Promise<number> {
  buildResponse();
  setInterval(buildResponse, 1000).unref();
  const server = net.createServer({ noDelay: true }, (socket) => {
    const s = socket as FloorSocket;
    s.matched = 0;
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
      .get('/*', (res) => {
        res.writeHeader('Content-Type', TYPE).end(BODY);
      })
      .listen('127.0.0.1', 0, (token) => (token ? resolve(u.us_socket_local_port(token)) : reject(new Error('uWS could not listen'))));
  });
}

serve({ beyod, node, floor, uws });
