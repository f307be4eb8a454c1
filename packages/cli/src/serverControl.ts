/*
 * The commands that talk to a running server: stop, reload, status, connections. They need its
 * control socket only — never the application's code — so a syntax error in the app cannot
 * lock its owner out of stopping it.
 */
import * as path from 'node:path';
import {
  BeyodError,
  type ConnectionInfo,
  ErrorCodes,
  type Hello,
  type ReloadResult,
  type StatusReport,
  type StopInfo,
  controlRequest,
  controlSocketPath,
  describeChange,
  isAlive,
  readPid,
} from '@beyod/core/internal';
import { probeConfig } from './configProbe';
import { formatConnections, formatDuration, formatStatus } from './format';
import { appDirOption, findConfig } from './loadApp';

/** Messages for humans go to stderr; stdout carries the JSON log lines (and --json output). */
const say = (msg: string) => process.stderr.write(`${msg}\n`);

/** The options every command has. */
export interface Common {
  config?: string;
  pidFile?: string;
}

/** A server that proved itself: its control socket answered `hello`. */
export interface Found {
  socket: string;
  hello: Hello;
}

/** The pid file a command looks at first: --pid-file, else runtime/beyod.pid in the app directory. */
export function defaultPidFile(a: Common): string {
  return a.pidFile ? path.resolve(a.pidFile) : path.join(appDirOption(a.config), 'runtime', 'beyod.pid');
}

/**
 * Find the running server: its control socket beside --pid-file, else beside
 * `<app>/runtime/beyod.pid`; only when nothing answers there and the config sets another
 * pidFile is the config read (in a child process) to learn it.
 */
export async function findServer(a: Common): Promise<Found> {
  const first = defaultPidFile(a);
  const tried = [first];
  let found = await ask(first);
  if (!found.ok && !a.pidFile && found.error.code === ErrorCodes.NOT_RUNNING) {
    let configured: string | undefined;
    try {
      configured = (await probeConfig(findConfig(a.config))).pidFile;
    } catch (e) {
      if ((e as BeyodError).code !== ErrorCodes.CONFIG_NOT_FOUND) {
        throw new BeyodError(
          ErrorCodes.NOT_RUNNING,
          `${notRunning(first)}; the config could not be read to find another pidFile (${(e as Error).message}); pass --pid-file`,
          { pidFile: first },
        );
      }
    }
    if (configured && configured !== first) {
      tried.push(configured);
      found = await ask(configured);
    }
  }
  if (found.ok) return found.found;
  if (found.error.code === ErrorCodes.NOT_RUNNING) {
    throw new BeyodError(ErrorCodes.NOT_RUNNING, tried.map(notRunning).join('; '), { pidFile: tried[tried.length - 1] });
  }
  throw found.error;
}

async function ask(pidFile: string): Promise<{ ok: true; found: Found } | { ok: false; error: BeyodError }> {
  const socket = controlSocketPath(pidFile);
  try {
    const hello = await controlRequest<Hello>(socket, { cmd: 'hello' }, 5000);
    if (!hello?.beyod) return { ok: false, error: new BeyodError(ErrorCodes.NOT_RUNNING, `${socket} does not answer as a beyod server`) };
    return { ok: true, found: { socket, hello } };
  } catch (e) {
    const err = BeyodError.from(e);
    if (err.code === ErrorCodes.CONTROL_TIMEOUT) {
      const pid = readPid(pidFile);
      return {
        ok: false,
        error: new BeyodError(
          ErrorCodes.CONTROL_TIMEOUT,
          `the server on ${socket} accepts but does not answer${pid ? ` (its pid file names pid ${pid})` : ''}: its master may be hung; nothing was signalled`,
        ),
      };
    }
    return { ok: false, error: err };
  }
}

/** "not running" for one pid file, saying what a leftover pid file is (never signalled). */
function notRunning(pidFile: string): string {
  const pid = readPid(pidFile);
  if (pid === undefined) return `not running (nothing answers on ${controlSocketPath(pidFile)}, no pid file at ${pidFile})`;
  return `not running: ${pidFile} is a stale pid file (it names pid ${pid}, but no server answers on ${controlSocketPath(pidFile)}; that pid was not signalled, and the next start replaces the file)`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function stop(a: Common): Promise<number> {
  const { socket, hello } = await findServer(a);
  const info = await controlRequest<StopInfo>(socket, { cmd: 'stop' });
  const until = Date.now() + info.timeout * 1000;
  say(
    `stopping '${hello.id}' (pid ${hello.pid})` +
      (info.connections ? `: waiting for ${plural(info.connections, 'connection')}, up to ${info.timeout} s` : ''),
  );
  let last = info.connections;
  const deadline = until + 15_000;
  for (;;) {
    let s: StatusReport;
    try {
      s = await controlRequest<StatusReport>(socket, { cmd: 'status' }, 2000);
    } catch {
      break; // the control socket is going (gone, refused, reset): the master is on its way out
    }
    const open = s.processes.reduce((n, p) => n + p.connections, 0);
    if (open !== last && open > 0)
      say(`waiting for ${plural(open, 'connection')}, up to ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s`);
    last = open;
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  // the pid proved itself by answering on the control socket: waiting for it is safe
  while (isAlive(hello.pid)) {
    if (Date.now() > deadline) {
      throw new BeyodError(ErrorCodes.CONTROL_TIMEOUT, `pid ${hello.pid} is still running after stopTimeout; look at its log`, {
        pid: hello.pid,
      });
    }
    await sleep(50);
  }
  say(`stopped (pid ${hello.pid})`);
  return 0;
}

export async function reload(a: Common): Promise<number> {
  const { socket } = await findServer(a);
  // as long as the master works on it: a dead master closes the socket, which ends the wait
  const r = await controlRequest<ReloadResult>(socket, { cmd: 'reload' }, 30 * 60_000);
  return reportReload(r, say);
}

/** Say what a reload did (`beyod reload`, and `beyod start --watch`); 1 if it stopped part-way. */
export function reportReload(r: ReloadResult, say: (msg: string) => void): number {
  for (const c of r.changes) say(describeChange(c));
  for (const w of r.retired) say(`worker ${w.workerId}: retired (pid ${w.pid}), workerNum lowered`);
  for (const w of r.replaced) say(`worker ${w.workerId}: pid ${w.oldPid} -> ${w.newPid}`);
  for (const w of r.started) say(`worker ${w.workerId}: started (pid ${w.pid}), workerNum raised`);
  if (r.failed) {
    const ids = (list: number[]) => (list.length ? `worker${list.length > 1 ? 's' : ''} ${list.join(', ')}` : 'no worker');
    say(`reload stopped at worker ${r.failed.workerId}: ${r.failed.message}`);
    say(
      `${ids([...r.replaced, ...r.started].map((w) => w.workerId))} run the new code; ${ids(r.old)} still run${r.old.length === 1 ? 's' : ''} the old code`,
    );
    return 1;
  }
  say(`reloaded ${r.replaced.length} workers in ${formatDuration(r.ms)} (${r.ms} ms)`);
  return 0;
}

export async function status(a: Common & { json?: boolean; watch?: boolean }): Promise<number> {
  const { socket } = await findServer(a);
  const once = async () => {
    const s = await controlRequest<StatusReport>(socket, { cmd: 'status' });
    process.stdout.write(a.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
  };
  if (!a.watch) {
    await once();
    return 0;
  }
  for (;;) {
    const s = await controlRequest<StatusReport>(socket, { cmd: 'status' });
    process.stdout.write(`\x1b[2J\x1b[H${a.json ? JSON.stringify(s) : formatStatus(s)}\n\n(refreshing every second; Ctrl-C to quit)\n`);
    await sleep(1000);
  }
}

export async function connections(a: Common & { json?: boolean }): Promise<number> {
  const { socket } = await findServer(a);
  const list = await controlRequest<ConnectionInfo[]>(socket, { cmd: 'connections' });
  process.stdout.write(a.json ? `${JSON.stringify(list)}\n` : `${formatConnections(list)}\n`);
  return 0;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
