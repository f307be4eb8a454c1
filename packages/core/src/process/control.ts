import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BeyodError, ErrorCodes, toError } from '../errors';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_UNIX_PATH = 107;
/** The file name of the control socket inside its directory. */
const SOCKET_NAME = 'control.sock';
/** A stale lock (its holder died inside the few milliseconds it is held) is broken after this. */
const STALE_LOCK_MS = 10_000;
/** How long a start waits for another start's lock before giving up. */
const LOCK_WAIT_MS = 5_000;
/** Longest request line accepted on the control socket. */
const MAX_REQUEST_BYTES = 65_536;

/**
 * The directory that holds the control socket of the server whose pid file is `pidFile`:
 * `runtime/beyod.pid` -> `runtime/beyod.ctl/`. It is created mode 0700, so only its owner
 * (and root) can reach the socket, whatever the mode of the pid file's directory.
 */
export function controlDir(pidFile: string): string {
  return pidFile.replace(/\.pid$/, '') + '.ctl';
}

/** The control socket of the server whose pid file is `pidFile` (`runtime/beyod.ctl/control.sock`). */
export function controlSocketPath(pidFile: string): string {
  return path.join(controlDir(pidFile), SOCKET_NAME);
}

/**
 * Make `dir` a directory only we can enter: created 0700, or, when it exists, refused unless it
 * is a real directory owned by us with no access for group or others. A directory someone else
 * could write to may hold a planted socket or symlink, so it is not "fixed" but refused.
 */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = fs.lstatSync(dir);
  const uid = process.geteuid?.() ?? st.uid;
  const problem = !st.isDirectory()
    ? 'is not a directory'
    : st.uid !== uid
      ? `is owned by uid ${st.uid}, not by us (uid ${uid})`
      : (st.mode & 0o077) !== 0
        ? `is accessible to other users (mode ${(st.mode & 0o777).toString(8)})`
        : undefined;
  if (problem) {
    throw new BeyodError(
      ErrorCodes.CONTROL_UNSAFE,
      `the control directory ${dir} ${problem}: remove it (beyod creates it again, mode 700) or fix it with chown/chmod 700`,
      { dir },
    );
  }
}

/**
 * A name for `file` that bind()/connect() accept. Unix socket paths are limited to 107 bytes;
 * a longer one is reached through the directory's descriptor (`/proc/self/fd/N/name`, Linux),
 * never through the abstract namespace, which has no permission checks at all.
 */
function socketAddress(file: string): { address: string; dirFd?: number } {
  if (Buffer.byteLength(file) <= MAX_UNIX_PATH) return { address: file };
  if (process.platform !== 'linux') {
    throw new BeyodError(
      ErrorCodes.CONTROL_UNSAFE,
      `the control socket path ${file} is longer than ${MAX_UNIX_PATH} bytes: choose a shorter pidFile path`,
      { path: file },
    );
  }
  const dirFd = fs.openSync(path.dirname(file), 'r');
  return { address: `/proc/self/fd/${dirFd}/${path.basename(file)}`, dirFd };
}

function closeFd(fd: number | undefined): void {
  if (fd !== undefined) fs.closeSync(fd);
}

/** What a control socket path is: a server accepting on it, a dead socket file, or nothing. */
export type SocketProbe = 'live' | 'dead' | 'absent';

/** Connect to `file` without sending anything: who, if anyone, listens there? */
export async function probeSocket(file: string): Promise<SocketProbe> {
  try {
    const socket = await connectSocket(file);
    socket.destroy();
    return 'live';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'absent';
    if (code === 'ECONNREFUSED') return 'dead';
    // EAGAIN (backlog full), EACCES...: something is there that we must not take over
    return 'live';
  }
}

function connectSocket(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let addr: { address: string; dirFd?: number };
    try {
      addr = socketAddress(file);
    } catch (e) {
      return reject(e);
    }
    const socket = net.connect(addr.address);
    const done = () => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      closeFd(addr.dirFd);
    };
    const onConnect = () => {
      done();
      resolve(socket);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

export type ControlRequest = { cmd: string; [arg: string]: unknown };
export type ControlHandler = (req: ControlRequest) => unknown;

/** Identity of a running server, as its control socket answers `{"cmd":"hello"}`. */
export interface Hello {
  beyod: true;
  id: string;
  pid: number;
  pidFile: string;
  singleProcess: boolean;
  /** The config file it was started from. */
  configFile?: string;
  /** The file it writes its log to ('' when it logs to its stdout). */
  logFile?: string;
  /** When it started (ms since epoch). */
  startAt?: number;
}

/**
 * The master's control socket: newline-delimited JSON, one request and one answer per line.
 *
 * It is also the proof that a server runs: a socket is claimed with link(2) under a short lock,
 * and a claimed path is taken over only when connecting to it is refused by the kernel (its
 * listener is gone) — never on the word of a pid, which may have been reused.
 */
export class ControlServer {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private dirFd: number | undefined;
  private ino = 0;
  private claimed = false;

  constructor(
    /** The pid file this socket stands for (the socket lives in its control directory). */
    readonly pidFile: string,
    private readonly handler: ControlHandler,
  ) {}

  /** The control socket's path. */
  get path(): string {
    return controlSocketPath(this.pidFile);
  }

  /**
   * Listen, then claim the control socket path; throws BEYOD_ALREADY_RUNNING when a live server
   * holds it. The socket is created under umask 177 (no listen -> chmod window) inside a 0700
   * directory, under a private name, and only then linked to its public name.
   */
  async start(): Promise<void> {
    const dir = controlDir(this.pidFile);
    ensurePrivateDir(dir);
    const temp = path.join(dir, `control.${process.pid}.sock`);
    fs.rmSync(temp, { force: true });
    const addr = socketAddress(temp);
    this.dirFd = addr.dirFd; // kept open while listening: libuv unlinks the bound name on close
    const server = net.createServer((socket) => this.serve(socket));
    this.server = server;
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // bind() happens synchronously inside listen() (this is the cluster primary), so the
    // restrictive umask is in force for exactly that call and nothing else in this process
    const umask = process.umask(0o177);
    try {
      server.listen(addr.address);
    } finally {
      process.umask(umask);
    }
    try {
      await listening;
    } catch (e) {
      await this.close();
      throw e;
    }
    server.unref();
    // accept() may fail (EMFILE when out of descriptors): never an uncaught 'error'
    server.on('error', () => {});
    try {
      await withLock(dir, () => this.claim(temp));
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }

  private async claim(temp: string): Promise<void> {
    const file = this.path;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(temp, file);
        this.ino = fs.statSync(file).ino;
        this.claimed = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const probe = await probeSocket(file);
      if (probe === 'live') throw await alreadyRunning(file, this.pidFile);
      if (probe === 'dead') fs.rmSync(file, { force: true }); // its server is gone: the kernel says so
    }
    throw new BeyodError(ErrorCodes.ALREADY_RUNNING, `could not claim ${file}: another start keeps taking it`, { path: file });
  }

  /**
   * Release the public name (only if it is still ours), then `beforeClose` (e.g. remove the pid
   * file) under the same lock, then stop listening. A start waiting for the lock finds the name
   * gone, never a socket of ours that it could mistake for dead.
   */
  async close(beforeClose?: () => void): Promise<void> {
    const server = this.server;
    this.server = null;
    if (this.claimed) {
      this.claimed = false;
      const dir = controlDir(this.pidFile);
      await withLock(dir, () => {
        beforeClose?.();
        try {
          if (fs.statSync(this.path).ino === this.ino) fs.rmSync(this.path, { force: true });
        } catch {
          /* already gone */
        }
      }).catch(() => beforeClose?.());
    }
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    closeFd(this.dirFd);
    this.dirFd = undefined;
  }

  private serve(socket: net.Socket): void {
    let buf = '';
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) return void socket.destroy();
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
}

/** What to say when a live server holds `file`. */
async function alreadyRunning(file: string, pidFile: string): Promise<BeyodError> {
  const hello = await controlRequest<Hello>(file, { cmd: 'hello' }, 2000).catch(() => undefined);
  if (hello?.beyod) {
    return new BeyodError(
      ErrorCodes.ALREADY_RUNNING,
      `already running: pid ${hello.pid} ('${hello.id}') answers on ${file} (run \`beyod stop\` first)`,
      { pid: hello.pid, pidFile },
    );
  }
  return new BeyodError(
    ErrorCodes.ALREADY_RUNNING,
    `already running: something accepts connections on ${file} but does not answer as a beyod server; not taking it over`,
    { pidFile },
  );
}

/**
 * Run `fn` holding `<dir>/lock` (mkdir is atomic). Held for a few milliseconds only, so a lock
 * older than STALE_LOCK_MS belongs to a process that died holding it and is broken.
 */
async function withLock<T>(dir: string, fn: () => T | Promise<T>): Promise<T> {
  const lock = path.join(dir, 'lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      if (Date.now() - fs.statSync(lock).mtimeMs > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
    } catch {
      /* released meanwhile */
    }
    if (Date.now() > deadline) {
      throw new BeyodError(ErrorCodes.ALREADY_RUNNING, `another beyod start holds ${lock}; try again`, { lock });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Ask the control socket at `file` one thing; resolves with the answer's data. */
export function controlRequest<T = unknown>(file: string, req: ControlRequest, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let socket: net.Socket | undefined;
    let settled = false;
    const finish = (e: Error | undefined, data?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      if (e) reject(e);
      else resolve(data as T);
    };
    const timer = setTimeout(
      () =>
        finish(
          new BeyodError(ErrorCodes.CONTROL_TIMEOUT, `no answer to '${req.cmd}' from the control socket ${file} within ${timeoutMs} ms`, {
            path: file,
          }),
        ),
      timeoutMs,
    );
    connectSocket(file).then(
      (s) => {
        socket = s;
        let buf = '';
        s.setEncoding('utf8');
        s.on('error', (e) => finish(e));
        s.on('close', () =>
          finish(new BeyodError(ErrorCodes.CONTROL_TIMEOUT, `the control socket ${file} closed before answering '${req.cmd}'`)),
        );
        s.on('data', (chunk: string) => {
          buf += chunk;
          const i = buf.indexOf('\n');
          if (i < 0) return;
          try {
            const reply = JSON.parse(buf.slice(0, i)) as { ok: boolean; data?: T; error?: { code: string; message: string } };
            if (reply.ok) finish(undefined, reply.data as T);
            else finish(new BeyodError(reply.error?.code ?? ErrorCodes.ERROR, reply.error?.message ?? 'control request failed'));
          } catch (e) {
            finish(toError(e));
          }
        });
        s.write(JSON.stringify(req) + '\n');
      },
      (err: NodeJS.ErrnoException) =>
        finish(
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? new BeyodError(ErrorCodes.NOT_RUNNING, `not running: nothing answers on the control socket ${file}`, { path: file })
            : err.code === 'EACCES'
              ? new BeyodError(
                  ErrorCodes.CONTROL_DENIED,
                  `permission denied on the control socket ${file}: run this command as the user who started the server (or root)`,
                  { path: file },
                )
              : err,
        ),
    );
  });
}
