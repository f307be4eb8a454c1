/* Shared bits of the benchmarks: machine description, medians, tables, child processes. */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const REGISTER = path.join(ROOT, 'packages/cli/register.js');

export function machine(): string {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `node ${process.version}, ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, commit ${commit}, ${new Date().toISOString().slice(0, 10)}`;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function fmt(n: number): string {
  if (Number.isInteger(n) || n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}

/** Print a Markdown table (and keep it for the report block, when a report was begun). */
export function printTable(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const lines = [
    `| ${header.map((h, i) => h.padEnd(w[i]!)).join(' | ')} |`,
    `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`,
    ...cells.slice(1).map((r) => `| ${r.map((c, i) => String(c).padEnd(w[i]!)).join(' | ')} |`),
  ];
  console.log(`\n${title}`);
  for (const l of lines) console.log(l);
  report?.parts.push(`${title}\n\n${lines.join('\n')}`);
}

// ---- the report block: what bench/RESULTS.md holds for a bench (bench/all.ts pastes it) ----

/** Ticks (USER_HZ) the whole machine spent busy, and this process with its reaped children. */
function cpuTicks(): { busy: number; own: number } {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + (cpu[7] ?? 0);
    const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    // utime stime cutime cstime: children count once they exited and were reaped (every server a bench starts)
    const own = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return { busy, own };
  } catch {
    return { busy: NaN, own: NaN };
  }
}

interface Report {
  name: string;
  command: string;
  started: number;
  ticks: { busy: number; own: number };
  parts: string[];
}
let report: Report | undefined;

/** CPU the rest of the machine used while a report ran, in cores (NaN off Linux). */
function othersLoad(r: Report): number {
  const now = cpuTicks();
  const seconds = (Date.now() - r.started) / 1000;
  return (now.busy - r.ticks.busy - (now.own - r.ticks.own)) / 100 / seconds;
}

/**
 * Start the block this bench prints for bench/RESULTS.md. `name` is the npm script's suffix
 * (bench:<name>); the exact command is rebuilt from this process's arguments.
 */
export function beginReport(name: string): void {
  const args = process.argv.slice(2);
  report = {
    name,
    command: `npm run bench:${name}${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    started: Date.now(),
    ticks: cpuTicks(),
    parts: [],
  };
}

/** A paragraph of the report block (printed now as well). */
export function note(text: string): void {
  console.log(`\n${text}`);
  report?.parts.push(text);
}

/**
 * Print the report block between `<!-- bench:NAME -->` markers: date, commit, machine, the
 * exact command, how busy the rest of the machine was during the run (other processes' CPU,
 * from /proc/stat minus this bench's own processes), the tables and notes. A run during which
 * other work used more than a tenth of a core is marked PROVISIONAL.
 */
export function endReport(): void {
  const r = report;
  if (r === undefined) return;
  report = undefined;
  const others = othersLoad(r);
  const dirty = (() => {
    try {
      // RESULTS.md itself is rewritten by bench:all as it goes: not a change of what is measured
      return (
        execSync("git status --porcelain --untracked-files=no -- . ':!bench/RESULTS.md'", { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
      );
    } catch {
      return false;
    }
  })();
  const load = Number.isNaN(others)
    ? 'other load: unknown (no /proc)'
    : others > 0.1
      ? `**PROVISIONAL**: other processes used ${others.toFixed(2)} cores on average during the run; re-run on a quiet machine`
      : `quiet machine: other processes used ${others.toFixed(2)} cores on average during the run`;
  const head = [
    `Run: ${machine()}${dirty ? ' (with uncommitted changes)' : ''}, ${Math.round((Date.now() - r.started) / 1000)} s.`,
    `Command: \`${r.command}\``,
    `Load: ${load}.`,
  ];
  const block = [`<!-- bench:${r.name} -->`, head.join('  \n'), ...r.parts, `<!-- /bench:${r.name} -->`].join('\n\n');
  console.log(`\n${block}`);
}

/** Run a TypeScript file in a child process (with the CLI's loader); resolves with the child. */
export function runTs(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['-r', REGISTER, file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The first line a child prints on stdout. */
export function firstLine(child: ChildProcess, ms = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error('child printed nothing in time')), ms);
    child.stdout!.setEncoding('utf8');
    const onData = (d: string) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(t);
        child.stdout!.off('data', onData);
        resolve(buf.slice(0, i));
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing`)));
  });
}

/** All of a child's stdout once it exits. */
export function output(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (buf += d));
    child.on('exit', (code) => (code === 0 ? resolve(buf) : reject(new Error(`child exited with ${code}`))));
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** A TCP port free on loopback right now (for servers that cannot bind port 0, like redis-server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Wait until something accepts connections on loopback `port`. */
export async function waitPort(port: number, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CPU seconds a process used so far: utime + stime from /proc (Linux; NaN elsewhere). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return NaN;
  }
}
