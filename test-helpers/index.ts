/* Shared test helpers: real sockets, waits with deadlines, cleanup registries. */
import { execFileSync } from 'node:child_process';
import { once, type EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Listener } from '@beyod/core';

/** Wait for one event, failing with a clear message after `ms`. */
export async function waitFor<T extends unknown[] = unknown[]>(em: EventEmitter, ev: string, ms = 2000): Promise<T> {
  try {
    return (await once(em, ev, { signal: AbortSignal.timeout(ms) })) as T;
  } catch (e) {
    throw (e as Error).name === 'AbortError' ? new Error(`no '${ev}' within ${ms} ms`) : e;
  }
}

/** Poll `check` until it returns a truthy value, or fail after `ms`. */
export async function until<T>(check: () => T | Promise<T>, ms = 3000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw socket client that records what it receives. */
export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;
  error: Error | undefined;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(opts: net.NetConnectOpts, ms = 2000): Promise<RawClient> {
    const socket = net.connect(opts);
    const c = new RawClient(socket);
    await waitFor(socket, 'connect', ms);
    return c;
  }

  static wrap(socket: net.Socket): RawClient {
    return new RawClient(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `check(received)` holds or the socket closes (then check once more). */
  async waitUntil(check: (b: Buffer) => boolean, ms = 2000, what = 'data'): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!check(this.received)) {
      if (this.closed) throw new Error(`socket closed while waiting for ${what}; got ${this.received.length} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; got ${this.received.length} bytes`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received;
  }

  async waitBytes(n: number, ms = 2000): Promise<Buffer> {
    return this.waitUntil((b) => b.length >= n, ms, `${n} bytes`);
  }

  async waitLines(n: number, ms = 2000): Promise<string[]> {
    await this.waitUntil((b) => b.toString().split('\n').length > n, ms, `${n} lines`);
    return this.received.toString().split('\n').slice(0, n);
  }

  async waitClose(ms = 2000): Promise<void> {
    if (this.closed) return;
    await waitFor(this.socket, 'close', ms);
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Things to close after each test; register them as they are made. */
export class Cleanup {
  private fns: Array<() => unknown> = [];
  add<T>(v: T, fn: (v: T) => unknown): T {
    this.fns.push(() => fn(v));
    return v;
  }
  defer(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    const fns = this.fns.reverse();
    this.fns = [];
    for (const f of fns) {
      try {
        await f();
      } catch {
        /* best effort */
      }
    }
  }
}

/** A fresh temporary directory (removed by the caller's cleanup). */
export function tmpDir(prefix = 'beyod-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

let cert: { key: string; cert: string } | undefined;
/** A self-signed certificate for localhost, generated once per test process with openssl. */
export function selfSignedCert(): { key: string; cert: string } {
  if (cert) return cert;
  const dir = tmpDir('beyod-cert-');
  const key = path.join(dir, 'key.pem');
  const crt = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  cert = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(crt, 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return cert;
}

/** A 4-byte-length frame (length of the whole packet, header included). */
export function frame(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length + 4);
  return Buffer.concat([h, body]);
}

/** Split a frame stream into payloads (whatever complete frames it holds). */
export function unframe(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const n = buf.readUInt32BE(off);
    if (buf.length - off < n) break;
    out.push(buf.subarray(off + 4, off + n));
    off += n;
  }
  return out;
}
/**
 * A Listener on a free loopback port (tcp://127.0.0.1:0, read back as `l.port`) with `props`,
 * started, and stopped by `cleanup`.
 */
export async function startListener(
  cleanup: Cleanup,
  props: Partial<Listener> & { listen?: string; handler?: unknown; parser?: unknown },
): Promise<Listener> {
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0' }, props);
  l.init();
  await l.start();
  cleanup.add(l, (x) => x.stop(0));
  return l;
}

export * from './harness';
