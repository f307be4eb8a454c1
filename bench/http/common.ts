/* Helpers shared by bench/http and bench/websocket: child servers, machine facts, the table. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

/** Command-line options: --name value. */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}

/** A server script run in its own process (so the load generator does not share its event loop). */
export interface ChildServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Start `script kind workers` with the TypeScript loader; it prints "port N" once listening. */
export function startServer(script: string, kind: string, workers: number): Promise<ChildServer> {
  const child = spawn(process.execPath, ['-r', '@beyod/cli/register', script, kind, String(workers)], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BEYOD_LOG_LEVEL: 'warn' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} server did not start within 30 s`));
    }, 30_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        port: Number(m[1]),
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited with ${code} before listening`));
    });
  });
}

/** Node version, CPU, cores, commit and date: printed under every table. */
export function machine(): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  const cpus = os.cpus();
  return `node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, commit ${commit}, ${new Date().toISOString()}`;
}

/** A Markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Run `fn` as `workers` node:cluster workers (or in this process for 1); each calls back with
 * its port, and the first port is printed as "port N" for the parent.
 */
export function runServer(workers: number, fn: () => Promise<number>): void {
  // Imported lazily: only server processes need cluster.
  const cluster = require('node:cluster') as typeof import('node:cluster');
  const c = cluster.default ?? cluster;
  if (workers <= 1) {
    fn().then((port) => console.log(`port ${port}`));
    return;
  }
  if (c.isPrimary) {
    let printed = false;
    for (let i = 0; i < workers; i++) {
      c.fork().on('message', (m: { port?: number }) => {
        if (!printed && m.port) {
          printed = true;
          console.log(`port ${m.port}`);
        }
      });
    }
    process.on('SIGTERM', () => {
      for (const w of Object.values(c.workers ?? {})) w?.kill();
      process.exit(0);
    });
    return;
  }
  fn().then((port) => process.send?.({ port }));
}
