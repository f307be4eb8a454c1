import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Application,
  BeyodError,
  type ConnectionInfo,
  ErrorCodes,
  Master,
  type ReloadResult,
  SingleProcess,
  type StatusReport,
  controlRequest,
  controlSocketPath,
  isAlive,
  readPid,
  toError,
} from '@beyod/core/internal';
import yargs from 'yargs';
import { formatConnections, formatDuration, formatStatus } from './format';
import { type AppLocation, findConfig, loadApp } from './loadApp';

const VERSION = (require('../package.json') as { version: string }).version;
const BIN = path.join(__dirname, '..', 'bin', 'beyod.js');
const WORKER_MAIN = path.join(__dirname, 'workerMain.js');

/** Messages for humans go to stderr; stdout carries the JSON log lines (and --json output). */
const say = (msg: string) => process.stderr.write(`${msg}\n`);

interface Common {
  config?: string;
  pidFile?: string;
}

/** Run the CLI; resolves with the exit code (a running server resolves when it stops). */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const run =
    <A>(fn: (a: A) => Promise<number | void>) =>
    async (a: A) => {
      code = (await fn(a)) ?? 0;
    };
  try {
    await yargs(argv)
      .scriptName('beyod')
      .usage('$0 <command> [options]\n\nbeyod: a multi-process, event-driven socket server framework.')
      .option('config', { alias: 'c', type: 'string', describe: 'config file (default ./config/main.ts, then ./config/main.js)' })
      .option('pid-file', { type: 'string', describe: "override the server's pidFile (run two instances of one app)" })
      .command(
        'start',
        'start the server (foreground unless --daemon)',
        (y) =>
          y
            .option('daemon', { alias: 'd', type: 'boolean', describe: 'detach, and log to the server logFile' })
            .option('single', { alias: 's', type: 'boolean', describe: 'one worker in this process, no master (debugging, profiling)' }),
        run(start),
      )
      .command('stop', 'stop gracefully (workers drain within stopTimeout)', (y) => y, run(stop))
      .command('reload', 'replace every worker with a fresh process, one at a time (no downtime)', (y) => y, run(reload))
      .command(
        'restart',
        'stop, then start',
        (y) => y.option('daemon', { alias: 'd', type: 'boolean' }).option('single', { alias: 's', type: 'boolean' }),
        run(restart),
      )
      .command(
        'status',
        'master and workers: pids, GPIDs, uptime, memory, connections, messages',
        (y) =>
          y
            .option('json', { type: 'boolean', describe: 'print JSON' })
            .option('watch', { alias: 'w', type: 'boolean', describe: 'refresh every second' }),
        run(status),
      )
      .command('connections', 'every live connection of every worker', (y) => y.option('json', { type: 'boolean' }), run(connections))
      .demandCommand(1, 'name a command: start, stop, reload, restart, status or connections')
      .strict()
      .version(VERSION)
      .help()
      .alias('h', 'help')
      .wrap(Math.min(110, process.stdout.columns || 110))
      .fail((msg, err, y) => {
        if (err) throw err;
        say(`${y.help()}\n\n${msg}`);
        code = 2;
      })
      .parseAsync();
  } catch (e) {
    const err = toError(e);
    say(`beyod: ${err.message}`);
    if (process.env.BEYOD_DEBUG) say(err.stack ?? '');
    return 1;
  }
  return code;
}

function locate(a: Common): { loc: AppLocation; app: Application } {
  const loc = findConfig(a.config);
  const app = loadApp(loc);
  if (a.pidFile) app.server.pidFile = path.resolve(a.pidFile);
  return { loc, app };
}

function pidFileOf(app: Application): string {
  return app.resolvePath(app.server.pidFile);
}

async function start(a: Common & { daemon?: boolean; single?: boolean }): Promise<number> {
  const { loc, app } = locate(a);
  const server = app.server;
  const single = Boolean(a.single || server.singleProcess);
  if ((a.daemon || server.daemonize) && !process.env.BEYOD_DAEMON_CHILD) return daemonize(loc, app, single);
  const runner = single
    ? new SingleProcess(app)
    : new Master(server, { exec: WORKER_MAIN, args: [loc.configFile, loc.appDir], logger: app.logger });
  const stopped = new Promise<void>((resolve) => runner.once('stopped', () => resolve()));
  try {
    await runner.start();
  } catch (e) {
    if (process.env.BEYOD_DAEMON_CHILD && process.connected) process.send?.({ t: 'daemon:failed', message: toError(e).message });
    throw e;
  }
  const listeners = Object.entries(server.listeners).map(([name, l]) => `${name} ${l.listen}`);
  say(
    `beyod '${app.id}' started: ${single ? 'single process' : `${server.workerNum} workers`}, pid ${process.pid}` +
      (listeners.length ? `, listening: ${listeners.join(', ')}` : '') +
      (process.env.BEYOD_DAEMON_CHILD ? '' : ' (Ctrl-C stops)'),
  );
  if (process.env.BEYOD_DAEMON_CHILD && process.connected) {
    process.send?.({ t: 'daemon:started', pid: process.pid });
    process.disconnect();
  }
  await stopped;
  say(`beyod '${app.id}' stopped`);
  return 0;
}

/** Start a detached copy of ourselves and wait until it reports started (or failed). */
async function daemonize(loc: AppLocation, app: Application, single: boolean): Promise<number> {
  const logFile = app.resolvePath(app.server.logFile);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const pidFile = app.resolvePath(app.server.pidFile);
  const args = [...process.execArgv, BIN, 'start', '--config', loc.configFile, '--pid-file', pidFile, ...(single ? ['--single'] : [])];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, BEYOD_DAEMON_CHILD: '1' },
  });
  fs.closeSync(out);
  const result = await new Promise<{ ok: boolean; message: string }>((resolve) => {
    child.on('message', (m: { t?: string; pid?: number; message?: string }) => {
      if (m?.t === 'daemon:started') resolve({ ok: true, message: `pid ${m.pid}` });
      if (m?.t === 'daemon:failed') resolve({ ok: false, message: m.message ?? 'failed' });
    });
    child.on('exit', (code) => resolve({ ok: false, message: `the daemon exited with code ${code} (see ${logFile})` }));
  });
  child.removeAllListeners();
  if (child.connected) child.disconnect();
  child.unref();
  if (!result.ok) throw new BeyodError(ErrorCodes.WORKER_START_FAILED, result.message);
  say(`beyod '${app.id}' started in the background, ${result.message}; log: ${logFile}`);
  return 0;
}

/** The pid of the running master, or a NOT_RUNNING error (removing a stale pid file). */
function runningPid(app: Application): number {
  const file = pidFileOf(app);
  const pid = readPid(file);
  if (pid === undefined) throw new BeyodError(ErrorCodes.NOT_RUNNING, `not running (no pid file at ${file})`, { pidFile: file });
  if (!isAlive(pid)) {
    fs.rmSync(file, { force: true });
    throw new BeyodError(ErrorCodes.NOT_RUNNING, `not running: removed a stale pid file (${file} named pid ${pid}, which is gone)`, {
      pidFile: file,
      pid,
    });
  }
  return pid;
}

async function stop(a: Common): Promise<number> {
  const { app } = locate(a);
  const pid = runningPid(app);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (app.server.stopTimeout + 15) * 1000;
  while (isAlive(pid)) {
    if (Date.now() > deadline)
      throw new BeyodError(
        ErrorCodes.CONTROL_TIMEOUT,
        `pid ${pid} is still running after stopTimeout; kill it with SIGKILL if it must go`,
        { pid },
      );
    await new Promise((r) => setTimeout(r, 50));
  }
  say(`stopped (pid ${pid})`);
  return 0;
}

async function reload(a: Common): Promise<number> {
  const { app } = locate(a);
  runningPid(app);
  const timeout = app.server.workerNum * 70_000;
  const r = await controlRequest<ReloadResult>(controlSocketPath(pidFileOf(app)), { cmd: 'reload' }, timeout);
  for (const w of r.replaced) say(`worker ${w.workerId}: pid ${w.oldPid} -> ${w.newPid}`);
  say(`reloaded ${r.replaced.length} workers in ${formatDuration(r.ms)} (${r.ms} ms)`);
  return 0;
}

async function restart(a: Common & { daemon?: boolean; single?: boolean }): Promise<number> {
  try {
    await stop(a);
  } catch (e) {
    if ((e as BeyodError).code !== ErrorCodes.NOT_RUNNING) throw e;
    say(toError(e).message);
  }
  return start(a);
}

async function status(a: Common & { json?: boolean; watch?: boolean }): Promise<number> {
  const { app } = locate(a);
  const path = controlSocketPath(pidFileOf(app));
  runningPid(app);
  const once = async () => {
    const s = await controlRequest<StatusReport>(path, { cmd: 'status' });
    process.stdout.write(a.json ? `${JSON.stringify(s)}\n` : `${formatStatus(s)}\n`);
  };
  if (!a.watch) {
    await once();
    return 0;
  }
  for (;;) {
    const s = await controlRequest<StatusReport>(path, { cmd: 'status' });
    process.stdout.write(`\x1b[2J\x1b[H${a.json ? JSON.stringify(s) : formatStatus(s)}\n\n(refreshing every second; Ctrl-C to quit)\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function connections(a: Common & { json?: boolean }): Promise<number> {
  const { app } = locate(a);
  runningPid(app);
  const list = await controlRequest<ConnectionInfo[]>(controlSocketPath(pidFileOf(app)), { cmd: 'connections' });
  process.stdout.write(a.json ? `${JSON.stringify(list)}\n` : `${formatConnections(list)}\n`);
  return 0;
}
