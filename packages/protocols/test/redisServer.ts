/* A real redis-server for the tests: started on a free loopback port, killed and restarted at will. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { tmpDir, until } from 'test-helpers';

export function onPath(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const REDIS_SERVER = onPath('redis-server');

/**
 * `describe` for suites that need programs on PATH: when one is missing the suite is skipped
 * with a visible message — or fails, when BEYOD_REQUIRE_REDIS=1 (CI).
 */
export function describeNeeding(found: boolean, why: string, name: string, fn: () => void): void {
  if (found) {
    describe(name, fn);
    return;
  }
  if (process.env.BEYOD_REQUIRE_REDIS === '1') {
    describe(name, () => {
      it(`${why} (BEYOD_REQUIRE_REDIS=1)`, () => {
        throw new Error(`${why}, and BEYOD_REQUIRE_REDIS=1 makes that a failure`);
      });
    });
    return;
  }
  console.warn(`SKIPPED "${name}": ${why}. Set BEYOD_REQUIRE_REDIS=1 to make this a failure.`);
  describe(name, () => {
    it.skip(`SKIPPED: ${why}`, () => {});
  });
}

/** `describe` for suites that need redis-server. */
export function describeWithRedis(name: string, fn: () => void): void {
  describeNeeding(REDIS_SERVER !== undefined, 'redis-server is not on PATH (apt-get install redis-server)', name, fn);
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Send one inline command on a fresh socket; the raw reply, or '' on failure. */
export function rawCommand(port: number, line: string, ms = 500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = () => {
      clearTimeout(t);
      s.destroy();
      resolve(got);
    };
    const t = setTimeout(done, ms);
    s.on('error', done);
    s.on('connect', () => s.write(`${line}\r\n`));
    s.on('data', (d) => {
      got += d.toString();
      if (got.endsWith('\r\n')) done();
    });
  });
}

/** A redis-server child process. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  private log = '';
  private readonly dir = tmpDir('beyod-redis-');

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** The pid of the running server (undefined when stopped). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** What the server printed last (for failure messages). */
  get output(): string {
    return this.log;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /**
   * Start on a free port and wait until it answers PING (or NOAUTH, with requirepass).
   * `extraArgs` may be a function of the chosen port (e.g. a cluster bus port beside it).
   */
  static async start(extraArgs: string[] | ((port: number) => Promise<string[]>) = []): Promise<RedisServer> {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const server = new RedisServer(port, typeof extraArgs === 'function' ? await extraArgs(port) : extraArgs);
      try {
        await server.launch();
        return server;
      } catch (e) {
        last = e; // the free port was taken in between: try another
        await server.stop();
      }
    }
    throw last;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir, '--daemonize', 'no', ...this.extraArgs);
    const proc = spawn(REDIS_SERVER as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const keep = (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited = false;
    proc.once('exit', () => (exited = true));
    await until(
      async () => {
        if (exited) throw new Error(`redis-server exited at start:\n${this.log}`);
        return /^(\+PONG|-NOAUTH)/.test(await rawCommand(this.port, 'PING'));
      },
      10_000,
      `redis-server answering PING on port ${this.port}`,
    );
  }

  /** Kill the server (SIGKILL: clients see the connection drop, as in a crash). */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    }
  }

  /** Start again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stop and remove the working directory. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(path.resolve(this.dir), { recursive: true, force: true });
  }
}
