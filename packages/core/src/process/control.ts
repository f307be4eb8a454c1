import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BeyodError, ErrorCodes, toError } from '../errors';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_UNIX_PATH = 107;

/**
 * Where the control socket of the server whose pid file is `pidFile` lives: beside the pid
 * file (`beyod.pid` -> `beyod.sock`), or, when that path is too long for a unix socket, in
 * Linux's abstract namespace under a name derived from the pid file's path.
 */
export function controlSocketPath(pidFile: string): string {
  const file = pidFile.replace(/\.pid$/, '') + '.sock';
  if (Buffer.byteLength(file) <= MAX_UNIX_PATH) return file;
  return `\0beyod-${createHash('sha1').update(pidFile).digest('hex').slice(0, 20)}`;
}

export type ControlRequest = { cmd: string; [arg: string]: unknown };
export type ControlHandler = (req: ControlRequest) => unknown | Promise<unknown>;

/**
 * The master's control socket: newline-delimited JSON, one request and one answer per line.
 * `beyod status`, `reload` and `connections` talk to it (no signals needed to get data back).
 */
export class ControlServer {
  private server: net.Server | null = null;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
  ) {}

  async start(): Promise<void> {
    if (!this.path.startsWith('\0')) fs.rmSync(this.path, { force: true });
    const server = net.createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    // accept() may fail (EMFILE when out of descriptors): never an uncaught 'error'
    server.on('error', () => {});
    if (!this.path.startsWith('\0')) fs.chmodSync(this.path, 0o600);
  }

  private serve(socket: net.Socket): void {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) return void socket.destroy();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        void this.answer(socket, line);
      }
    });
  }

  private async answer(socket: net.Socket, line: string): Promise<void> {
    let reply: unknown;
    try {
      const req = JSON.parse(line) as ControlRequest;
      if (!req || typeof req.cmd !== 'string') throw new Error('expected {"cmd": ...}');
      reply = { ok: true, data: await this.handler(req) };
    } catch (e) {
      const err = toError(e);
      reply = { ok: false, error: { code: (err as BeyodError).code ?? ErrorCodes.ERROR, message: err.message } };
    }
    if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
  }

  close(): void {
    this.server?.close();
    this.server = null;
    if (!this.path.startsWith('\0')) fs.rmSync(this.path, { force: true });
  }
}

/** Ask the control socket at `path` one thing; resolves with the answer's data. */
export function controlRequest<T = unknown>(path: string, req: ControlRequest, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = net.connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new BeyodError(ErrorCodes.CONTROL_TIMEOUT, `no answer to '${req.cmd}' from the control socket within ${timeoutMs} ms`, { path }),
      );
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        const reply = JSON.parse(buf.slice(0, i)) as { ok: boolean; data?: T; error?: { code: string; message: string } };
        if (reply.ok) resolve(reply.data as T);
        else reject(new BeyodError(reply.error?.code ?? ErrorCodes.ERROR, reply.error?.message ?? 'control request failed'));
      } catch (e) {
        reject(toError(e));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new BeyodError(ErrorCodes.NOT_RUNNING, `not running: nothing answers on the control socket ${path.replace('\0', '@')}`, {
              path,
            })
          : err,
      );
    });
  });
}
