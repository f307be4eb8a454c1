/* Helpers shared by bench/http and bench/websocket: options, server processes, alternated rounds. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { REGISTER, ROOT, cpuSeconds, median, stopChild } from '../lib';

/** A numeric command-line option: --name value. */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

/** A string command-line option: --name value. */
export function stringOption(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** A server in a process of its own (the load generator never shares its event loop). */
export interface ChildServer {
  kind: string;
  port: number;
  pid: number;
  child: ChildProcess;
}

/**
 * Start `script kind` with the TypeScript loader; it prints "port N" once listening, or
 * "unavailable: why" (then this resolves with that reason). `cpuProfDir` runs it under
 * --cpu-prof (the profile is written when it stops).
 */
export function startServer(script: string, kind: string, cpuProfDir = ''): Promise<ChildServer | string> {
  const prof = cpuProfDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfDir)}`, `--cpu-prof-name=${kind}.cpuprofile`];
  const child = spawn(process.execPath, [...prof, '-r', REGISTER, script, kind], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BEYOD_LOG_LEVEL: 'warn' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within 30 s`));
    }, 30_000);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const gone = /unavailable: (.*)/.exec(out);
      const m = /port (\d+)/.exec(out);
      if (!gone && !m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      if (gone) resolve(gone[1]!);
      else resolve({ kind, port: Number(m![1]), pid: child.pid!, child });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited with ${code} before listening`));
    });
  });
}

export async function stopServers(servers: ChildServer[]): Promise<void> {
  await Promise.all(servers.map((s) => stopChild(s.child)));
}

/** The order of round `i`: the list, reversed every other round (A B C, C B A, ...). */
export function roundOrder<T>(items: T[], i: number): T[] {
  return i % 2 === 0 ? items : [...items].reverse();
}

/** One measurement of a server: operations, seconds, and the server's own CPU seconds over it. */
export interface Sample {
  ops: number;
  seconds: number;
  cpu: number;
  errors: number;
  p99ms: number;
}

/** Run `load` against `server`, reading the server's CPU time from /proc before and after. */
export async function measure(server: ChildServer, load: () => Promise<Omit<Sample, 'cpu'>>): Promise<Sample> {
  const before = cpuSeconds(server.pid);
  const r = await load();
  return { ...r, cpu: cpuSeconds(server.pid) - before };
}

/** Medians over rounds: rate, server CPU µs per operation, p99, total errors. */
export function summarize(samples: Sample[]): { rate: number; cpuUs: number; p99ms: number; errors: number } {
  return {
    rate: median(samples.map((s) => s.ops / s.seconds)),
    cpuUs: median(samples.map((s) => (s.cpu / s.ops) * 1e6)),
    p99ms: median(samples.map((s) => s.p99ms)),
    errors: samples.reduce((n, s) => n + s.errors, 0),
  };
}

/** A server script's refusal to run (a peer that is not installed): printed as "unavailable: why". */
export class Unavailable extends Error {}

/**
 * The main of a server script: `script <kind>` starts SERVERS[kind] and prints "port N", or
 * "unavailable: why" when it threw Unavailable; it runs until SIGTERM.
 */
export function serve(servers: Record<string, () => Promise<number>>): void {
  const kind = process.argv[2] ?? '';
  process.on('SIGTERM', () => process.exit(0));
  (servers[kind] ?? (() => Promise.reject(new Error(`unknown server ${kind}`))))().then(
    (port) => console.log(`port ${port}`),
    (e: Error) => {
      if (e instanceof Unavailable) console.log(`unavailable: ${e.message}`);
      else console.error(e);
      process.exit(e instanceof Unavailable ? 0 : 1);
    },
  );
}
