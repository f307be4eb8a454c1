/*
 * A worker out of file descriptors must not die, nor drop the connections it has: it refuses
 * new ones (logged once per episode) and serves again once some close. Real processes under
 * a low `ulimit -n`, flooded with real connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Cleanup, tmpDir, until } from 'test-helpers';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'packages/cli/bin/beyod.js');
const REGISTER = path.join(ROOT, 'packages/cli/register.js');
const ECHO_CONFIG = path.join(__dirname, 'fixtures/echo/config/main.ts');

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A process started by `sh -c 'ulimit -n N; exec …'`, its output collected. */
class Limited {
  out = '';
  exited: number | null | undefined;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    child.on('exit', (code) => (this.exited = code));
  }
  static start(limit: number, argv: string[], env: NodeJS.ProcessEnv = {}): Limited {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('sh', ['-c', `ulimit -n ${limit} && exec ${quoted}`], {
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = new Limited(child);
    cleanup.defer(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    return p;
  }
  logs(): Array<Record<string, unknown>> {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  lines(re: RegExp): string[] {
    return this.out.split('\n').filter((l) => re.test(l));
  }
}

/** One client: sends a line, records the echo or the close. */
class Line {
  readonly socket: net.Socket;
  got = '';
  closed = false;
  constructor(port: number, line: string) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => this.socket.write(`${line}\n`));
    this.socket.on('data', (d: string) => (this.got += d));
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
    cleanup.add(this.socket, (s) => s.destroy());
  }
  get settled(): boolean {
    return this.got.endsWith('\n') || this.closed;
  }
}

async function flood(port: number, n: number, line: string): Promise<Line[]> {
  const clients = Array.from({ length: n }, (_, i) => new Line(port, `${line} ${i}`));
  await until(() => clients.every((c) => c.settled), 15000, `${n} connections answered or closed`);
  return clients;
}

describe('out of file descriptors', () => {
  it('a worker under ulimit -n 256 flooded with 400 connections refuses some, keeps the others, serves again after', async () => {
    // Failed before: EMFILE thrown by process.memoryUsage.rss() in the stats timer, "uncaught
    // exception, worker exits", and every connection of the worker dropped.
    const runtime = tmpDir('beyod-emfile-');
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const run = Limited.start(256, [process.execPath, BIN, 'start', '--config', ECHO_CONFIG], {
      BEYOD_TEST_RUNTIME: runtime,
      BEYOD_TEST_WORKERS: '1',
    });
    const listening = await until(
      () => run.logs().find((l) => l.msg === `listening on tcp://127.0.0.1:0`) ?? (run.exited !== undefined ? 'exited' : undefined),
      20000,
      'the worker listening',
    );
    expect(listening).not.toBe('exited');
    const port = Number(
      String((listening as Record<string, unknown>).address)
        .split(':')
        .pop(),
    );
    const workerPid = (listening as Record<string, unknown>).pid;

    const clients = await flood(port, 400, 'hi');
    const served = clients.filter((c) => c.got !== '');
    const refused = clients.filter((c) => c.got === '');
    expect(served.length).toBeGreaterThan(100);
    expect(refused.length).toBeGreaterThan(100);
    expect(refused.every((c) => c.closed)).toBe(true); // refused at once, not left hanging

    // the connections it kept still work, across a few stats reports (one a second)
    for (let round = 0; round < 3; round++) {
      for (const c of served) c.socket.write(`again ${round}\n`);
      await until(() => served.every((c) => c.got.split('\n').length === round + 3), 10000, `round ${round} answered`);
    }
    // free them: it serves new connections again
    for (const c of clients) c.socket.destroy();
    await until(() => run.lines(/accepting connections again/).length === 1, 10000, 'the end of the episode');
    const after = await flood(port, 50, 'new');
    expect(after.every((c) => c.got.startsWith('new '))).toBe(true);

    // the same worker all along, and one warning for the whole episode
    expect(run.out).not.toMatch(/uncaught exception|worker 1 died/);
    expect(run.logs().filter((l) => l.pid === workerPid && l.msg === `listening on tcp://127.0.0.1:0`)).toHaveLength(1);
    expect(run.lines(/refusing new connections/)).toHaveLength(1);
  });

  it('accept() failing with EMFILE, and the stats read at EMFILE, neither crash the process', async () => {
    // The process itself takes every descriptor (opening /dev/null), so its own accept() fails
    // (libuv then closes the pending connections itself; node reports nothing) and so does
    // the read of its RSS in the stats timer (that threw EMFILE before).
    const p = Limited.start(64, [process.execPath, '-r', REGISTER, path.join(__dirname, 'fixtures/exhaust.ts')]);
    const ready = await until(
      () => p.logs().find((l) => l.port !== undefined) ?? (p.exited !== undefined ? 'exited' : undefined),
      20000,
      'ready',
    );
    expect(ready).not.toBe('exited');
    const port = (ready as { port: number }).port;
    const refused = await flood(port, 5, 'x');
    expect(refused.every((c) => c.got === '' && c.closed)).toBe(true);
    p.child.stdin!.write('stats\n');
    await until(() => p.logs().some((l) => l.stats !== undefined), 5000, 'stats at EMFILE');
    p.child.stdin!.write('free\n');
    await until(() => p.logs().some((l) => l.freed === true), 5000, 'files closed');
    const served = await flood(port, 5, 'y');
    expect(served.every((c) => c.got.startsWith('y '))).toBe(true);
    expect(p.exited).toBeUndefined();
    expect(p.out).not.toMatch(/Error|listener error/);
  });
});
