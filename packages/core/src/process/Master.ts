import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { BeyodError, ErrorCodes, toError } from '../errors';
import { type Logger, rootLogger } from '../logger';
import { type ConnectionInfo, type Server, type WorkerStats, gpidOf } from '../Server';
import { ControlServer, controlSocketPath } from './control';
import { type FromWorker, type StatusReport, type ToWorker, type WorkerStatus, isFromWorker, toWorkerStatus } from './messages';
import { acquirePidFile, releasePidFile } from './pidFile';

/** How the master forks workers. */
export interface MasterOptions {
  /** The script a worker runs (it calls runWorker). */
  exec: string;
  args?: string[];
  execArgv?: string[];
  /** Extra environment for workers. */
  env?: Record<string, string>;
  logger?: Logger;
  /** Seconds a new worker has to report ready before it counts as failed. Default 60. */
  startTimeout?: number;
}

/** A worker that dies within this many ms of becoming ready counts as crashing on start. */
const FAST_FAILURE_MS = 2000;
/** Back-off before re-forking a worker that keeps dying on start: 0, 250 ms, 500 ms, ... capped. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 15_000;
/** How long status/connections queries wait for workers' fresh figures. */
const QUERY_TIMEOUT_MS = 1000;

/** One worker id and the process that currently holds it. */
interface Slot {
  id: number;
  worker: Worker | null;
  pid: number;
  state: WorkerStatus['state'];
  forkedAt: number;
  readyAt: number;
  respawns: number;
  /** Consecutive deaths right after start (crash loop). */
  fastFailures: number;
  stats: WorkerStats | undefined;
  retryTimer: NodeJS.Timeout | undefined;
}

/** Per-process bookkeeping, for every worker process we forked. */
interface Proc {
  slotId: number;
  role: 'current' | 'candidate' | 'retiring';
  ready: boolean;
  onReady?: (ok: boolean, error?: BeyodError) => void;
  pending: Map<number, (data: unknown) => void>;
}

/**
 * The master process: forks `workerNum` workers with stable ids 1..workerNum, re-forks a dead
 * worker under the same id (backing off when it keeps dying on start), replaces workers one at
 * a time on reload, answers status over a control socket, and stops everything gracefully.
 * It runs no application code: no listeners, no handlers, no onWorkerStart.
 */
export class Master extends EventEmitter {
  readonly pidFile: string;
  readonly controlPath: string;
  readonly startAt = Date.now();
  private readonly log: Logger;
  private readonly slots = new Map<number, Slot>();
  private readonly procs = new Map<Worker, Proc>();
  private control: ControlServer | undefined;
  private stopping: Promise<void> | undefined;
  private replacing: Promise<unknown> = Promise.resolve();
  private reloading: Promise<ReloadResult> | undefined;
  private queryId = 0;
  private started = false;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(
    readonly server: Server,
    private readonly options: MasterOptions,
  ) {
    super();
    const app = server.app;
    this.pidFile = app ? app.resolvePath(server.pidFile) : server.pidFile;
    this.controlPath = controlSocketPath(this.pidFile);
    this.log = (options.logger ?? rootLogger()).child({ serverId: server.serverId, role: 'master' });
  }

  /**
   * Take the pid file, open the control socket, fork every worker and wait until all of them
   * accept. If one fails to start, everything is torn down and the error is thrown.
   */
  async start(): Promise<void> {
    const { stalePid } = acquirePidFile(this.pidFile);
    if (stalePid) this.log.warn({ stalePid, pidFile: this.pidFile }, 'replaced a stale pid file (that process is gone)');
    try {
      this.control = new ControlServer(this.controlPath, (req) => this.onControl(req.cmd));
      await this.control.start();
      cluster.setupPrimary({ exec: this.options.exec, args: this.options.args ?? [], execArgv: this.options.execArgv ?? process.execArgv });
      const results = await Promise.all(
        Array.from({ length: this.server.workerNum }, (_, i) =>
          this.fork(this.slot(i + 1), 'current').catch((e: unknown) => BeyodError.from(e)),
        ),
      );
      const failed = results.find((r) => r instanceof BeyodError);
      if (failed) throw failed;
    } catch (e) {
      await this.teardown(0);
      throw e;
    }
    this.started = true;
    this.installSignals();
    this.log.info({ workers: this.server.workerNum, pidFile: this.pidFile }, 'master started');
  }

  private slot(id: number): Slot {
    let s = this.slots.get(id);
    if (!s) {
      s = {
        id,
        worker: null,
        pid: 0,
        state: 'down',
        forkedAt: 0,
        readyAt: 0,
        respawns: 0,
        fastFailures: 0,
        stats: undefined,
        retryTimer: undefined,
      };
      this.slots.set(id, s);
    }
    return s;
  }

  /** Fork a process for slot `s`; resolves once it reports ready, rejects if it fails first. */
  private fork(s: Slot, role: Proc['role']): Promise<Worker> {
    const worker = cluster.fork({
      ...this.options.env,
      BEYOD_WORKER_ID: String(s.id),
      BEYOD_MASTER_PID: String(process.pid),
    });
    const proc: Proc = { slotId: s.id, role, ready: false, pending: new Map() };
    this.procs.set(worker, proc);
    if (role === 'current') {
      s.worker = worker;
      s.pid = worker.process.pid ?? 0;
      s.state = 'starting';
      s.forkedAt = Date.now();
      s.stats = undefined;
    }
    worker.on('message', (m: unknown) => this.onMessage(worker, m));
    worker.on('exit', (code, signal) => this.onExit(worker, code, signal));
    worker.on('error', (err) => this.log.warn({ workerId: s.id, err }, 'worker IPC error'));
    return new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.onReady = undefined;
        worker.process.kill('SIGKILL');
        reject(
          new BeyodError(ErrorCodes.WORKER_START_FAILED, `worker ${s.id} did not start within ${this.startTimeout / 1000} s`, {
            workerId: s.id,
          }),
        );
      }, this.startTimeout);
      proc.onReady = (ok, error) => {
        clearTimeout(timer);
        proc.onReady = undefined;
        if (ok) resolve(worker);
        else reject(error);
      };
    });
  }

  private get startTimeout(): number {
    return (this.options.startTimeout ?? 60) * 1000;
  }

  private onMessage(worker: Worker, m: unknown): void {
    const proc = this.procs.get(worker);
    if (!proc || !isFromWorker(m)) return;
    const msg: FromWorker = m;
    const s = this.slot(proc.slotId);
    switch (msg.t) {
      case 'beyod:ready':
        proc.ready = true;
        if (proc.role === 'current') {
          s.state = 'ready';
          s.readyAt = Date.now();
          s.stats = msg.stats;
        }
        this.emit('worker-ready', s.id, worker.process.pid);
        proc.onReady?.(true);
        break;
      case 'beyod:start-failed': {
        const error = BeyodError.from(msg.error);
        this.log.error({ workerId: s.id, pid: worker.process.pid, code: error.code, err: error.message }, 'worker failed to start');
        proc.onReady?.(
          false,
          new BeyodError(ErrorCodes.WORKER_START_FAILED, `worker ${s.id} failed to start: ${error.message}`, {
            workerId: s.id,
            cause: error.toJSON(),
          }),
        );
        break;
      }
      case 'beyod:stats':
        if (proc.role === 'current') {
          s.stats = msg.stats;
          this.checkLimits(s, msg.stats);
        }
        break;
      case 'beyod:sync':
        // The answer travels behind every message we sent before it (one ordered channel),
        // including node:cluster's connection hand-offs: see runWorker's stop.
        this.tell(worker, { t: 'beyod:synced', id: msg.id });
        break;
      case 'beyod:reply': {
        const cb = proc.pending.get(msg.id);
        proc.pending.delete(msg.id);
        cb?.(msg.data);
        break;
      }
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const proc = this.procs.get(worker);
    this.procs.delete(worker);
    if (!proc) return;
    for (const cb of proc.pending.values()) cb(undefined);
    const s = this.slot(proc.slotId);
    const pid = worker.process.pid;
    if (!proc.ready) {
      proc.onReady?.(
        false,
        new BeyodError(ErrorCodes.WORKER_START_FAILED, `worker ${s.id} exited before it was ready (${describeExit(code, signal)})`, {
          workerId: s.id,
        }),
      );
    }
    if (proc.role !== 'current' || s.worker !== worker) {
      this.log.info({ workerId: s.id, pid, code, signal }, proc.role === 'retiring' ? 'old worker exited' : 'worker exited');
      return;
    }
    s.worker = null;
    s.state = 'down';
    if (this.stopping || !this.started) return;
    const lived = s.readyAt >= s.forkedAt && s.readyAt > 0 ? Date.now() - s.readyAt : 0;
    s.fastFailures = !proc.ready || lived < FAST_FAILURE_MS ? s.fastFailures + 1 : 0;
    const delay = s.fastFailures <= 1 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (s.fastFailures - 2), BACKOFF_CAP_MS);
    this.log.warn(
      { workerId: s.id, oldPid: pid, code, signal, delay, fastFailures: s.fastFailures },
      `worker ${s.id} died (${describeExit(code, signal)}); re-forking in ${delay} ms`,
    );
    s.retryTimer = setTimeout(() => this.respawn(s, pid), delay);
  }

  private respawn(s: Slot, oldPid: number | undefined): void {
    s.retryTimer = undefined;
    if (this.stopping) return;
    s.respawns++;
    const p = this.fork(s, 'current');
    this.log.info({ workerId: s.id, oldPid, newPid: s.pid, respawns: s.respawns }, `worker ${s.id} re-forked`);
    p.catch((e: unknown) => this.log.error({ workerId: s.id, err: toError(e).message }, 'respawned worker failed to start'));
  }

  private checkLimits(s: Slot, stats: WorkerStats): void {
    const { maxRequests, maxMemory } = this.server;
    const why =
      maxRequests > 0 && stats.messagesIn >= maxRequests
        ? `handled ${stats.messagesIn} messages (maxRequests ${maxRequests})`
        : maxMemory > 0 && stats.memory > maxMemory
          ? `uses ${stats.memory} bytes (maxMemory ${maxMemory})`
          : undefined;
    if (!why || s.state !== 'ready') return;
    s.state = 'stopping'; // not again while it is being replaced
    this.log.info({ workerId: s.id, pid: s.pid }, `replacing worker ${s.id}: it ${why}`);
    void this.queueReplace(s.id).catch((e: unknown) => this.log.error({ workerId: s.id, err: toError(e).message }, 'replacement failed'));
  }

  /** Replacements (reload, recycling) run one at a time. */
  private queueReplace(id: number): Promise<void> {
    const next = this.replacing.then(() => this.replace(id));
    this.replacing = next.catch(() => {});
    return next;
  }

  /**
   * Replace worker `id` with a fresh process: fork the new one, wait until it accepts, then
   * stop the old one gracefully — so there is always a worker accepting under that id.
   */
  private async replace(id: number): Promise<void> {
    if (this.stopping) return;
    const s = this.slot(id);
    if (s.retryTimer) {
      // it was waiting to be re-forked after a crash: this replacement is that re-fork
      clearTimeout(s.retryTimer);
      s.retryTimer = undefined;
    }
    const old = s.worker;
    let fresh: Worker;
    try {
      fresh = await this.fork(s, 'candidate');
    } catch (e) {
      if (s.state === 'stopping' && s.worker === old) s.state = 'ready';
      throw e;
    }
    const proc = this.procs.get(fresh);
    if (!proc) throw new BeyodError(ErrorCodes.WORKER_START_FAILED, `worker ${id} exited right after it started`, { workerId: id });
    proc.role = 'current';
    s.worker = fresh;
    s.pid = fresh.process.pid ?? 0;
    s.state = 'ready';
    s.forkedAt = Date.now();
    s.readyAt = Date.now();
    s.fastFailures = 0;
    s.stats = undefined;
    if (old) {
      const oldProc = this.procs.get(old);
      if (oldProc) oldProc.role = 'retiring';
      this.tell(old, { t: 'beyod:stop', timeout: this.server.stopTimeout });
      this.killLater(old);
    }
  }

  /** Rolling reload: every worker replaced, one at a time. */
  reload(): Promise<ReloadResult> {
    if (this.reloading) return this.reloading;
    const started = Date.now();
    const run = async (): Promise<ReloadResult> => {
      const replaced: Array<{ workerId: number; oldPid: number; newPid: number }> = [];
      for (const id of [...this.slots.keys()].sort((a, b) => a - b)) {
        const oldPid = this.slot(id).pid;
        await this.queueReplace(id);
        replaced.push({ workerId: id, oldPid, newPid: this.slot(id).pid });
      }
      this.log.info({ replaced: replaced.length, ms: Date.now() - started }, 'reload done');
      return { replaced, ms: Date.now() - started };
    };
    this.log.info('rolling reload');
    this.reloading = run().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Graceful stop: workers stop accepting and drain within stopTimeout, then we exit. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown(this.server.stopTimeout);
    return this.stopping;
  }

  private async teardown(timeout: number): Promise<void> {
    this.stopping ??= Promise.resolve();
    for (const s of this.slots.values()) if (s.retryTimer) clearTimeout(s.retryTimer);
    const workers = [...this.procs.keys()];
    const exits = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers) this.tell(w, { t: 'beyod:stop', timeout });
    const hard = setTimeout(() => workers.forEach((w) => !w.isDead() && w.process.kill('SIGKILL')), (timeout + 3) * 1000);
    await Promise.all(exits);
    clearTimeout(hard);
    this.control?.close();
    releasePidFile(this.pidFile);
    for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
    this.log.info('master stopped');
  }

  private killLater(w: Worker): void {
    const t = setTimeout(() => !w.isDead() && w.process.kill('SIGKILL'), (this.server.stopTimeout + 3) * 1000);
    w.once('exit', () => clearTimeout(t));
  }

  private tell(w: Worker, msg: ToWorker): void {
    if (w.isConnected()) w.send(msg);
    else if (!w.isDead()) w.process.kill('SIGTERM');
  }

  private installSignals(): void {
    const on = (sig: NodeJS.Signals, fn: () => void) => {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    };
    const stop = () => void this.stop().then(() => this.emit('stopped'));
    const reload = () => void this.reload().catch((e: unknown) => this.log.error({ err: toError(e).message }, 'reload failed'));
    on('SIGTERM', stop);
    on('SIGINT', stop);
    on('SIGUSR1', reload);
    on('SIGHUP', reload);
  }

  private async onControl(cmd: string): Promise<unknown> {
    switch (cmd) {
      case 'status':
        return this.status();
      case 'connections':
        return this.connections();
      case 'reload':
        return this.reload();
      case 'stop':
        setImmediate(() => void this.stop().then(() => this.emit('stopped')));
        return { pid: process.pid };
      default:
        throw new BeyodError(ErrorCodes.UNKNOWN_COMMAND, `unknown control command '${cmd}'`);
    }
  }

  /** Ask every current worker something; a worker that does not answer in time is skipped. */
  private query<T>(what: 'stats' | 'connections'): Promise<Map<number, T | undefined>> {
    const asks = [...this.slots.values()].map(async (s): Promise<[number, T | undefined]> => {
      const w = s.worker;
      const proc = w && this.procs.get(w);
      if (!w || !proc || !proc.ready || !w.isConnected()) return [s.id, undefined];
      const id = ++this.queryId;
      const data = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => {
          proc.pending.delete(id);
          resolve(undefined);
        }, QUERY_TIMEOUT_MS);
        proc.pending.set(id, (d) => {
          clearTimeout(timer);
          resolve(d);
        });
        this.tell(w, { t: 'beyod:query', id, what });
      });
      return [s.id, data as T | undefined];
    });
    return Promise.all(asks).then((pairs) => new Map(pairs));
  }

  /** The master and every worker, with fresh figures where the worker answers in time. */
  async status(): Promise<StatusReport> {
    const fresh = await this.query<WorkerStats>('stats');
    const now = Date.now();
    const workers = [...this.slots.values()]
      .sort((a, b) => a.id - b.id)
      .map((s): WorkerStatus => {
        const st = fresh.get(s.id) ?? s.stats;
        if (st && fresh.get(s.id)) s.stats = st;
        const uptime = s.worker && s.forkedAt ? now - (st?.startAt || s.forkedAt) : 0;
        return toWorkerStatus(
          { workerId: s.id, pid: s.pid, gpid: gpidOf(this.server.serverId, s.id), state: s.state, uptime, respawns: s.respawns },
          st,
        );
      });
    return {
      id: this.server.app?.id ?? 'beyod',
      serverId: this.server.serverId,
      singleProcess: false,
      master: { pid: process.pid, startAt: this.startAt, uptime: now - this.startAt },
      workerNum: this.server.workerNum,
      workers,
    };
  }

  /** Every live connection of every worker. */
  async connections(): Promise<ConnectionInfo[]> {
    const all = await this.query<ConnectionInfo[]>('connections');
    return [...all.values()].flatMap((list) => list ?? []);
  }
}

/** What a reload did. */
export interface ReloadResult {
  replaced: Array<{ workerId: number; oldPid: number; newPid: number }>;
  ms: number;
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code ?? '?'}`;
}
