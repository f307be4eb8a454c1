import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Application,
  BeyodError,
  ErrorCodes,
  LogDestination,
  Master,
  type MasterSettings,
  SingleProcess,
  controlDir,
  createLogger,
  setRootLogger,
  toError,
} from '@beyod/core/internal';
import yargs from 'yargs';
import { listCommand } from './commands/list';
import { logsCommand } from './commands/logs';
import { newCommand } from './commands/new';
import { startupCommand } from './commands/startup';
import { probeConfig } from './configProbe';
import { type AppLocation, findConfig, loadApp } from './loadApp';
import { type Common, connections, findServer, reload, reportReload, status, stop } from './serverControl';
import { AppWatcher } from './watch';

const VERSION = (require('../package.json') as { version: string }).version;
const BIN = path.join(__dirname, '..', 'bin', 'beyod.js');
const WORKER_MAIN = path.join(__dirname, 'workerMain.js');

/**
 * Messages for humans go to stderr; stdout carries the log (and --json output). A daemon's
 * stderr is its log file, which holds JSON only: there the message is a record too.
 */
const say = (msg: string) =>
  process.stderr.write(
    process.env.BEYOD_DAEMON_CHILD ? `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg })}\n` : `${msg}\n`,
  );

/** Run the CLI; resolves with the exit code (a running server resolves when it stops). */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  // A command runs only once the whole command line is known to be valid: yargs reports an
  // unknown flag after it has called the handler, and `reload --gracefull` must not reload.
  let command: (() => Promise<number | void>) | undefined;
  const run =
    <A>(fn: (a: A) => Promise<number | void>) =>
    (a: A) => {
      command = () => fn(a);
    };
  try {
    await yargs(argv)
      .scriptName('beyod')
      .usage('$0 <command> [options]\n\nbeyod: a multi-process, event-driven socket server framework.')
      .option('config', {
        alias: 'c',
        type: 'string',
        describe: 'config file, or the application directory (default ./config/main.ts, then ./config/main.js)',
      })
      .option('pid-file', {
        type: 'string',
        describe: "override the server's pidFile (run two instances of one app); stop/status/reload default to runtime/beyod.pid",
      })
      .command(
        'start',
        'start the server (foreground unless --daemon)',
        (y) =>
          y
            .option('daemon', { alias: 'd', type: 'boolean', describe: 'detach, and log to the server logFile' })
            .option('single', { alias: 's', type: 'boolean', describe: 'one worker in this process, no master (debugging, profiling)' })
            .option('watch', {
              alias: 'w',
              type: 'boolean',
              describe: 'development: a rolling reload whenever a file under the app changes (not runtime/, node_modules/, .git/)',
            }),
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
      .command(listCommand.command, listCommand.describe, listCommand.builder, run(listCommand.handler))
      .command(logsCommand.command, logsCommand.describe, logsCommand.builder, run(logsCommand.handler))
      .command(newCommand.command, newCommand.describe, newCommand.builder, run(newCommand.handler))
      .command(startupCommand.command, startupCommand.describe, startupCommand.builder, run(startupCommand.handler))
      .demandCommand(1, 'name a command: start, stop, reload, restart, status, connections, logs, list, new or startup')
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
    if (code === 2 || !command) return code;
    code = (await command()) ?? 0;
  } catch (e) {
    const err = toError(e);
    say(`beyod: ${err.message}`);
    if (process.env.BEYOD_DEBUG) say(err.stack ?? '');
    return 1;
  }
  return code;
}

/** Start: the config is checked in a child process, so the master never runs application code. */
async function start(a: Common & { daemon?: boolean; single?: boolean; watch?: boolean }): Promise<number> {
  const loc = findConfig(a.config);
  if (a.watch && (a.single || a.daemon))
    throw notWithWatch(a.single ? '--single (a single process has nothing to reload into)' : '--daemon');
  if (a.single) return runSingle(loc, a, loadApp(loc));
  const settings = await probeConfig(loc);
  if (a.pidFile) settings.pidFile = path.resolve(a.pidFile);
  if (a.watch && (settings.daemonize || settings.singleProcess))
    throw notWithWatch(settings.daemonize ? 'daemonize in the config' : 'singleProcess in the config');
  if ((a.daemon || settings.daemonize) && !process.env.BEYOD_DAEMON_CHILD)
    return daemonize(loc, { ...settings, logFile: settings.log.file || settings.logFile }, settings.singleProcess);
  if (settings.singleProcess) return runSingle(loc, a, loadApp(loc));
  // the master is the one writer of the log: its own lines, and its workers' records and output
  const output = new LogDestination({ ...settings.log, file: settings.log.file || process.env.BEYOD_LOG_FILE || undefined });
  const logger = createLogger(settings.log, output);
  setRootLogger(logger);
  const master = new Master(settings, {
    exec: WORKER_MAIN,
    args: [loc.configFile, loc.appDir],
    logger,
    output,
    loadSettings: () => probeConfig(loc),
  });
  master.on('pending', (id: number, phase: string, secs: number) => say(`worker ${id}: ${phase} still pending after ${secs} s`));
  const listeners = Object.entries(settings.listeners).map(([name, listen]) => `${name} ${listen}`);
  const watcher = a.watch ? watchAndReload(master, settings) : undefined;
  try {
    return await runUntilStopped(master, `${settings.workerNum} workers`, settings.id, listeners);
  } finally {
    watcher?.close();
  }
}

function notWithWatch(what: string): BeyodError {
  return new BeyodError(ErrorCodes.CONFIG_INVALID, `--watch is for development, in the foreground: not with ${what}`);
}

/**
 * `start --watch`: a rolling reload when files under the app directory change (debounced).
 * A reload re-runs the config check first, so a file that does not compile is reported and
 * the workers running keep running; a change during a reload queues one more.
 */
function watchAndReload(master: Master, settings: MasterSettings): AppWatcher {
  let running = false;
  let again: string[] | undefined;
  const reloadFor = async (files: string[]) => {
    if (running) {
      again = [...(again ?? []), ...files];
      return;
    }
    running = true;
    say(`changed: ${files.join(', ')}; reloading`);
    try {
      reportReload(await master.reload(), say);
    } catch (e) {
      say(`beyod: ${toError(e).message}`);
      say('the workers running keep the code they had; fix the file and save it again');
    }
    running = false;
    if (again) {
      const next = [...new Set(again)];
      again = undefined;
      void reloadFor(next);
    }
  };
  // the pid file, the control directory and the log change by themselves
  const skip = [settings.pidFile, controlDir(settings.pidFile), settings.logFile, ...(settings.log.file ? [settings.log.file] : [])];
  const watcher = new AppWatcher(settings.appDir, (files) => void reloadFor(files), skip);
  watcher.start();
  say(`watching ${settings.appDir} (${watcher.size} directories) for changes`);
  return watcher;
}

/** Single-process mode: the one worker runs here, with the application (by design). */
async function runSingle(loc: AppLocation, a: Common & { daemon?: boolean }, app: Application): Promise<number> {
  const pidFile = a.pidFile ? path.resolve(a.pidFile) : app.resolvePath(app.server.pidFile);
  if ((a.daemon || app.server.daemonize) && !process.env.BEYOD_DAEMON_CHILD) {
    return daemonize(loc, { id: app.id, pidFile, logFile: app.resolvePath(app.server.logFile) }, true);
  }
  const listeners = Object.entries(app.server.listeners).map(([name, l]) => `${name} ${l.listen}`);
  return runUntilStopped(new SingleProcess(app, app.logger, pidFile), 'single process', app.id, listeners);
}

async function runUntilStopped(runner: Master | SingleProcess, what: string, id: string, listeners: string[]): Promise<number> {
  const stopped = new Promise<void>((resolve) => runner.once('stopped', () => resolve()));
  try {
    await runner.start();
  } catch (e) {
    if (process.env.BEYOD_DAEMON_CHILD && process.connected) process.send?.({ t: 'daemon:failed', message: toError(e).message });
    throw e;
  }
  say(
    `beyod '${id}' started: ${what}, pid ${process.pid}` +
      (listeners.length ? `, listening: ${listeners.join(', ')}` : '') +
      (process.env.BEYOD_DAEMON_CHILD ? '' : ' (Ctrl-C stops)'),
  );
  if (process.env.BEYOD_DAEMON_CHILD && process.connected) {
    process.send?.({ t: 'daemon:started', pid: process.pid });
    process.disconnect();
  }
  await stopped;
  say(`beyod '${id}' stopped`);
  return 0;
}

/** Start a detached copy of ourselves and wait until it reports started (or failed). */
async function daemonize(loc: AppLocation, settings: Pick<MasterSettings, 'id' | 'pidFile' | 'logFile'>, single: boolean): Promise<number> {
  const logFile = settings.logFile;
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  const args = [
    ...process.execArgv,
    BIN,
    'start',
    '--config',
    loc.configFile,
    '--pid-file',
    settings.pidFile,
    ...(single ? ['--single'] : []),
  ];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, BEYOD_DAEMON_CHILD: '1', BEYOD_LOG_FILE: logFile },
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
  say(`beyod '${settings.id}' started in the background, ${result.message}; log: ${logFile}`);
  return 0;
}

async function restart(a: Common & { daemon?: boolean; single?: boolean }): Promise<number> {
  try {
    await findServer(a);
  } catch (e) {
    if ((e as BeyodError).code !== ErrorCodes.NOT_RUNNING) throw e;
    say(toError(e).message);
    return start(a);
  }
  await stop(a);
  return start(a);
}
