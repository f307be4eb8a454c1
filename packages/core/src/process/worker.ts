import { execFileSync } from 'node:child_process';
import cluster from 'node:cluster';
import type { Application } from '../Application';
import { BeyodError, ErrorCodes, toError } from '../errors';
import type { ShutdownReason } from '../events';
import type { Server } from '../Server';
import { type FromWorker, type ToWorker } from './messages';

/**
 * How often a worker sends its figures to the master. It is also the heartbeat: the message
 * leaves from the event loop, so a stopped or spinning worker falls silent.
 */
const STATS_INTERVAL_MS = 1000;
/** How often a draining worker tells the master how many connections are left. */
const DRAIN_REPORT_MS = 500;

/** Tell the master what a starting worker is busy with (shown when a start takes long). */
export function reportPhase(phase: string): void {
  if (cluster.isWorker && process.connected) process.send?.({ t: 'beyod:phase', phase } satisfies FromWorker);
}

/** How often the event loop's delay is sampled. */
const LAG_SAMPLE_MS = 50;

/**
 * Event-loop lag: how late a 50 ms timer fires, worst case over the last second or so. (perf_hooks'
 * monitorEventLoopDelay missed a 200 ms block right after a reset when tried here.)
 */
export class LagMeter {
  private last = Date.now();
  private current = 0;
  private previous = 0;
  private samples = 0;

  constructor() {
    setInterval(() => {
      const now = Date.now();
      this.current = Math.max(this.current, now - this.last - LAG_SAMPLE_MS);
      this.last = now;
      if (++this.samples % (1000 / LAG_SAMPLE_MS) === 0) {
        this.previous = this.current;
        this.current = 0;
      }
    }, LAG_SAMPLE_MS).unref();
  }

  /** The worst lag in ms over the last second, including a delay building up right now. */
  get(): number {
    return Math.max(this.previous, this.current, Date.now() - this.last - LAG_SAMPLE_MS, 0);
  }
}

/** What a starting worker waits on: a listener binding, or onWorkerStart. */
function startPhase(server: Server, started: boolean): string {
  if (started) return 'ready';
  const running = new Set(server.getListeners().map((l) => l.name));
  const pending = Object.entries(server.listeners).find(([name]) => !running.has(name));
  return pending ? `listener '${pending[0]}' (${pending[1].listen})` : 'onWorkerStart';
}

/**
 * The body of a worker process (forked by the Master): start the server's listeners as worker
 * BEYOD_WORKER_ID, report ready, answer the master's queries, and stop gracefully when told —
 * or when the master disappears.
 */
export async function runWorker(app: Application): Promise<void> {
  const workerId = Number(process.env.BEYOD_WORKER_ID);
  const masterPid = Number(process.env.BEYOD_MASTER_PID) || process.ppid;
  if (!cluster.isWorker || !Number.isInteger(workerId) || workerId < 1) {
    throw new BeyodError(
      ErrorCodes.WORKER_START_FAILED,
      'runWorker() runs in a worker forked by the beyod master (BEYOD_WORKER_ID is not set)',
    );
  }
  const server = app.server;
  // The GPID is the master's business: a reload does not change serverId under it.
  const pinned = Number(process.env.BEYOD_SERVER_ID);
  if (Number.isInteger(pinned) && pinned > 0) server.serverId = pinned;
  const send = (m: FromWorker) => {
    if (process.connected) process.send?.(m);
  };
  const loop = new LagMeter();
  let stopping: Promise<void> | undefined;
  let started = false;
  const openConnections = () => server.getListeners().reduce((n, l) => n + l.connections.size, 0);
  const stop = (timeout: number, reason: ShutdownReason = 'stop') => {
    stopping ??= (async () => {
      let progress: NodeJS.Timeout | undefined;
      try {
        if (started) {
          let last = -1;
          const report = () => {
            const n = openConnections();
            if (n !== last) send({ t: 'beyod:draining', connections: n, timeout });
            last = n;
          };
          progress = setInterval(report, DRAIN_REPORT_MS);
          const stopped = server.stopWorker(timeout, reason);
          report();
          await stopped;
          report();
          // its last figures, after the drain: the master's counters carry them over
          send({ t: 'beyod:stats', stats: server.getStats(), lag: loop.get() });
        }
        await syncWithMaster();
      } catch (e) {
        server.logger.error({ err: toError(e) }, 'error while stopping');
      }
      clearInterval(progress);
      process.exit(0);
    })();
  };

  // Ctrl-C in a terminal signals the whole process group: the master orchestrates the stop.
  process.on('SIGINT', () => {});
  // A worker signalled on its own stops gracefully; the master re-forks it.
  process.on('SIGTERM', () => stop(server.stopTimeout));
  // The master is gone (killed): nobody supervises us any more.
  process.on('disconnect', () => stop(server.stopTimeout));
  // node:cluster's primary may have handed us a connection just before it saw our listeners
  // close; if we exited before answering that hand-off, the client would hang forever. The
  // master answers a sync only after everything it sent before, so once it is back every
  // hand-off has reached us (and been refused, our listeners being closed, so the primary
  // gives it to another worker).
  let syncs = 0;
  const synced = new Map<number, () => void>();
  const syncWithMaster = () =>
    new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      const id = ++syncs;
      const timer = setTimeout(resolve, 2000);
      synced.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      send({ t: 'beyod:sync', id });
    });
  process.on('message', (m: ToWorker) => {
    if (!m || typeof m !== 'object') return;
    if (m.t === 'beyod:synced') synced.get(m.id)?.();
    else if (m.t === 'beyod:stop') stop(m.timeout, m.reason);
    else if (m.t === 'beyod:query') {
      const data =
        m.what === 'connections'
          ? server.getConnections()
          : m.what === 'phase'
            ? startPhase(server, started)
            : { stats: server.getStats(), lag: loop.get() };
      send({ t: 'beyod:reply', id: m.id, data });
    }
  });
  process.on('uncaughtException', (err) => {
    server.logger.fatal({ err }, 'uncaught exception, worker exits');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    server.logger.fatal({ err: toError(reason) }, 'unhandled promise rejection, worker exits');
    process.exit(1);
  });

  reportPhase('starting the listeners');
  try {
    await server.startWorker(workerId, masterPid);
    dropPrivileges(server);
  } catch (e) {
    const err = BeyodError.from(e);
    server.logger.error({ err: err.message, code: err.code }, 'worker failed to start');
    // exit only once the message is out: process.exit() would drop a queued IPC message
    if (process.connected)
      process.send?.({ t: 'beyod:start-failed', error: err.toJSON() } satisfies FromWorker, undefined, {}, () => process.exit(1));
    else process.exit(1);
    return;
  }
  started = true;
  send({ t: 'beyod:ready', stats: server.getStats() });
  setInterval(() => {
    try {
      send({ t: 'beyod:stats', stats: server.getStats(), lag: loop.get() });
    } catch (e) {
      // nothing may escape a timer into uncaughtException (it would take every connection down)
      server.logger.error({ err: toError(e) }, 'could not report stats');
    }
  }, STATS_INTERVAL_MS).unref();
}

/** When running as root with `user` (and `group`) configured, switch to them. */
export function dropPrivileges(server: Server): void {
  if (!server.user || typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  try {
    // the user's primary group unless one is named (Debian's nobody is in nogroup, not nobody)
    process.setgid?.(server.group || Number(execFileSync('id', ['-g', server.user], { encoding: 'utf8' }).trim()));
    process.setuid?.(server.user);
    server.logger.info({ uid: process.getuid(), gid: process.getgid?.() }, `dropped privileges to user ${server.user}`);
  } catch (e) {
    throw new BeyodError(
      ErrorCodes.CONFIG_INVALID,
      `cannot switch to user '${server.user}'${server.group ? ` / group '${server.group}'` : ''}: ${toError(e).message}`,
      {
        path: 'components.server.user',
      },
    );
  }
}
