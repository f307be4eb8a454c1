/* Drives the real `beyod` binary on the fixture app, each test in its own runtime directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { StatusReport } from '@beyod/core';
import { tmpDir, until } from 'test-helpers';

export const BIN = path.resolve(__dirname, '../bin/beyod.js');
export const FIXTURE_CONFIG = path.resolve(__dirname, 'fixtures/app/config/main.ts');

if (!fs.existsSync(path.resolve(__dirname, '../dist/main.js'))) {
  throw new Error('packages/cli is not built: run `npm test` (it builds first) or `npm run build`');
}

/** A fresh runtime directory and the environment that points the fixture app at it. */
export function testEnv(extra: Record<string, string> = {}): { runtime: string; env: NodeJS.ProcessEnv } {
  const runtime = tmpDir('beyod-cli-');
  // BEYOD_HOME: the registry `beyod list` reads, kept out of the user's own
  const env = { ...process.env, BEYOD_LOG_LEVEL: 'info', BEYOD_TEST_RUNTIME: runtime, BEYOD_HOME: path.join(runtime, 'home'), ...extra };
  return { runtime, env };
}

/** A `beyod start` running in the foreground, in its own process group. */
export class Running {
  stdout = '';
  stderr = '';
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve((this.exitCode = code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The JSON log lines written so far. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async waitStarted(ms = 20000): Promise<void> {
    await until(() => /started/.test(this.stderr) || this.exitCode !== undefined, ms, 'beyod start');
    if (!/started/.test(this.stderr)) throw new Error(`beyod start failed (exit ${this.exitCode}):\n${this.stderr}\n${this.stdout}`);
  }

  async waitLog(pred: (l: Record<string, unknown>) => boolean, ms = 10000, what = 'log line'): Promise<Record<string, unknown>> {
    return until(() => this.logs().find(pred), ms, what);
  }

  /** Kill the whole process group (master and workers), whatever state they are in. */
  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

export function startBeyod(args: string[], env: NodeJS.ProcessEnv, config = FIXTURE_CONFIG): Running {
  const child = spawn(process.execPath, [BIN, 'start', '--config', config, ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Running(child);
}

/** Run a beyod command to completion. */
export async function beyod(
  args: string[],
  env: NodeJS.ProcessEnv,
  ms = 30000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const hasConfig = args.includes('--config') || args.includes('-c');
  const child = spawn(process.execPath, [BIN, ...args, ...(hasConfig ? [] : ['--config', FIXTURE_CONFIG])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function status(env: NodeJS.ProcessEnv, config = FIXTURE_CONFIG, args: string[] = []): Promise<StatusReport> {
  const r = await beyod(['status', '--json', '--config', config, ...args], env);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusReport;
}

/** The port the fixture's `who` listener is bound to. */
export function portOf(s: StatusReport): number {
  const address = s.workers.find((w) => w.listeners.length)?.listeners[0]?.address;
  if (!address) throw new Error('no listener address in status');
  return Number(address.split(':').pop());
}

/** One request on a fresh connection: send a line, read the answer line. */
export function ask(port: number, line: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        s.end();
        resolve(buf.slice(0, i));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error('closed without an answer'));
    });
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start one of the examples through the CLI, on free ports (the example reads its listen
 * address from `env`) and with its pid file in a fresh directory, so tests can run side by
 * side. Registers the kill and the cleanup with `cleanup`.
 */
export async function startExample(
  name: string,
  env: Record<string, string>,
  cleanup: { add<T>(v: T, fn: (v: T) => unknown): T; defer(fn: () => unknown): void },
): Promise<{ run: Running; status: () => Promise<StatusReport>; args: string[]; env: NodeJS.ProcessEnv }> {
  const config = path.resolve(__dirname, `../../../examples/${name}/config/main.ts`);
  const runtime = tmpDir(`beyod-${name}-`);
  cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
  const args = ['--pid-file', path.join(runtime, 'beyod.pid')];
  const fullEnv = { ...process.env, BEYOD_LOG_LEVEL: 'info', ...env };
  const run = startBeyod(args, fullEnv, config);
  cleanup.add(run, (r) => r.kill());
  await run.waitStarted();
  return { run, status: () => status(fullEnv, config, args), args, env: fullEnv };
}

/** Worker processes of `masterPid` as /proc sees them: pid -> the BEYOD_WORKER_ID in its environment. */
export function workerProcesses(masterPid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== masterPid) continue;
      const env = fs.readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      const id = env.find((e) => e.startsWith('BEYOD_WORKER_ID='));
      if (id) out.set(Number(name), Number(id.slice('BEYOD_WORKER_ID='.length)));
    } catch {
      /* gone meanwhile, or a zombie */
    }
  }
  return out;
}

/** Pids holding worker id `id` under `masterPid`. */
export function holdersOf(masterPid: number, id: number): number[] {
  return [...workerProcesses(masterPid)].filter(([, w]) => w === id).map(([pid]) => pid);
}

interface Cleaner {
  add<T>(v: T, fn: (v: T) => unknown): T;
  defer(fn: () => unknown): void;
}

/** Start the fixture app with the CLI in a fresh runtime directory; killed and removed by `cleanup`. */
export async function startFixture(
  cleanup: Cleaner,
  extra: Record<string, string> = {},
  args: string[] = [],
): Promise<{ run: Running; runtime: string; env: NodeJS.ProcessEnv }> {
  const { runtime, env } = testEnv(extra);
  cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
  const run = startBeyod(args, env);
  cleanup.add(run, (r) => r.kill());
  await run.waitStarted();
  return { run, runtime, env };
}

/** An open connection that records every line it receives. */
export async function lineClient(port: number, cleanup: Cleaner): Promise<{ socket: net.Socket; got: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  cleanup.add(socket, (s) => s.destroy());
  socket.on('error', () => {});
  let got = '';
  socket.setEncoding('utf8').on('data', (d: string) => (got += d));
  await new Promise((r) => socket.once('connect', r));
  return { socket, got: () => got };
}

/** A port nothing listens on right now (for a listener that must keep its port across rebinds). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
