/*
 * `beyod list`: every beyod app this user runs on this machine (PM2's `pm2 ls`), from the
 * per-user registry of control sockets; each one is asked, and entries nobody answers for are
 * removed. No daemon.
 */
import * as fs from 'node:fs';
import { type Hello, type StatusReport, controlRequest, probeSocket, registeredApps, registryDir } from '@beyod/core/internal';
import type { Argv } from 'yargs';
import { formatDuration, table } from '../format';

/** How long one app may take to answer before it is listed as not answering. */
const ASK_TIMEOUT_MS = 2000;

/** One running app as `beyod list --json` prints it. */
export interface ListedApp {
  id: string;
  pid: number;
  /** `running`, `stopping`, or `not answering` (its socket accepts, but no answer in time). */
  state: string;
  workers: number;
  ready: number;
  uptime: number;
  singleProcess: boolean;
  configFile: string;
  pidFile: string;
  socket: string;
}

export const listCommand = {
  command: 'list',
  describe: 'every beyod app you run on this machine: name, master pid, workers, uptime, config',
  builder: (y: Argv) => y.option('json', { type: 'boolean', describe: 'print JSON' }),
  handler: list,
};

async function list(a: { json?: boolean }): Promise<number> {
  const entries = registeredApps();
  let removed = 0;
  const apps = (
    await Promise.all(
      entries.map(async (e): Promise<ListedApp | undefined> => {
        const listed: ListedApp = {
          id: e.id,
          pid: e.pid,
          state: 'not answering',
          workers: 0,
          ready: 0,
          uptime: Date.now() - e.startAt,
          singleProcess: false,
          configFile: e.configFile,
          pidFile: e.pidFile,
          socket: e.socket,
        };
        let hello: Hello;
        try {
          hello = await controlRequest<Hello>(e.socket, { cmd: 'hello' }, ASK_TIMEOUT_MS);
        } catch {
          // refused or gone: nobody serves that socket any more, the entry is stale
          if ((await probeSocket(e.socket)) !== 'live') {
            fs.rmSync(e.file, { force: true });
            removed++;
            return undefined;
          }
          return listed;
        }
        listed.id = hello.id;
        listed.pid = hello.pid;
        listed.singleProcess = hello.singleProcess;
        listed.configFile = hello.configFile ?? e.configFile;
        try {
          const s = await controlRequest<StatusReport>(e.socket, { cmd: 'status' }, ASK_TIMEOUT_MS);
          listed.state = s.stopping ? 'stopping' : 'running';
          listed.workers = s.workerNum;
          listed.ready = s.workers.filter((w) => w.state === 'ready').length;
          listed.uptime = s.master.uptime;
        } catch {
          /* answered hello but not status in time: listed as not answering */
        }
        return listed;
      }),
    )
  )
    .filter((x): x is ListedApp => x !== undefined)
    .sort((x, y) => x.id.localeCompare(y.id) || x.pid - y.pid);
  if (removed)
    process.stderr.write(`removed ${removed} stale entr${removed === 1 ? 'y' : 'ies'} (no server answers on their control sockets)\n`);
  if (a.json) {
    process.stdout.write(`${JSON.stringify(apps)}\n`);
    return 0;
  }
  if (apps.length === 0) {
    process.stdout.write(`no beyod app is running for this user (registry: ${registryDir()})\n`);
    return 0;
  }
  const rows = apps.map((x) => [
    x.id,
    x.pid,
    x.singleProcess ? 'single' : `${x.ready}/${x.workers}`,
    formatDuration(x.uptime),
    x.state,
    x.configFile,
  ]);
  process.stdout.write(`${table(['name', 'pid', 'workers', 'uptime', 'status', 'config'], rows)}\n`);
  return 0;
}
