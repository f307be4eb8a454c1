import { EventEmitter } from 'node:events';
import { BeyodError, ErrorCodes, toError } from '../errors';
import { type Logger, rootLogger } from '../logger';
import { type ConnectionInfo, type WorkerStats, gpidOf } from '../Server';
import { ControlServer } from './control';
import { type ControlTarget, type StopInfo, controlHandler } from './ControlApi';
import { type ProcessStatus, type StatusReport, type WorkerStatus, toWorkerStatus } from './messages';
import { MetricsTracker, renderMetrics } from './metrics';
import { MetricsServer, type Readiness } from './MetricsServer';
import { releasePidFile, writePidFile } from './pidFile';
import { registerApp } from './registry';
import { type ReloadResult, Reloader } from './Reloader';
import type { MasterSettings } from './settings';
import type { ForkOptions, Proc } from './slots';
import { Supervisor } from './Supervisor';

const VERSION = (require('../../package.json') as { version: string }).version;

/** How the master forks workers and re-reads its config. */
export interface MasterOptions extends ForkOptions {
  logger?: Logger;
  /**
   * Read and check the config again (in another process: the master runs no application
   * code); a reload calls it to apply a changed workerNum, maxRequests...
   */
  loadSettings?: () => Promise<MasterSettings>;
}

/**
 * The master process: holds the pid file and the control socket, and puts together the
 * supervisor (slots, respawn, back-off, heartbeat), the reloader (rolling replace, scaling) and
 * the control API. It loads no application code: its settings come from a config check run in
 * a child process (see MasterSettings).
 */
export class Master extends EventEmitter implements ControlTarget {
  readonly startAt = Date.now();
  private readonly log: Logger;
  private readonly supervisor: Supervisor;
  private readonly reloader: Reloader;
  private control: ControlServer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  private readonly output: MasterOptions['output'];
  private readonly tracker = new MetricsTracker();
  private metrics: MetricsServer | undefined;
  private unregister: (() => void) | undefined;

  constructor(
    private settings: MasterSettings,
    options: MasterOptions,
  ) {
    super();
    this.output = options.output;
    this.log = (options.logger ?? rootLogger()).child({ serverId: settings.serverId, role: 'master' });
    this.supervisor = new Supervisor(options, () => this.settings, this.log);
    this.reloader = new Reloader(
      this.supervisor,
      this.log,
      { get: () => this.settings, set: (s) => (this.settings = s) },
      options.loadSettings &&
        (async () => {
          const next = await options.loadSettings!();
          return { ...next, pidFile: this.settings.pidFile }; // the pid file is the master's identity
        }),
    );
    this.supervisor.on('worker-ready', (id: number, pid: number) => this.emit('worker-ready', id, pid));
    this.supervisor.on('pending', (id: number, phase: string, secs: number) => this.emit('pending', id, phase, secs));
    this.supervisor.on('stats', (proc: Proc, stats: WorkerStats) => this.tracker.onStats(proc, stats));
    this.supervisor.on('exit', (proc: Proc) => this.tracker.onExit(proc));
    this.supervisor.on('limit', (id: number, proc: Proc) => {
      this.tracker.onRecycle(id);
      this.reloader.recycle(id).catch((e: unknown) => {
        proc.limitHit = false; // try again on its next figures
        this.log.error({ workerId: id, err: toError(e).message }, 'replacement failed');
      });
    });
  }

  get pidFile(): string {
    return this.settings.pidFile;
  }

  /** The settings in force (a reload may change some). */
  get currentSettings(): MasterSettings {
    return this.settings;
  }

  /**
   * Claim the control socket (the proof that this server runs), write the pid file, fork every
   * worker and wait until all of them accept. If one fails, everything is torn down and the
   * error is thrown.
   */
  async start(): Promise<void> {
    const control = new ControlServer(this.settings.pidFile, controlHandler(this));
    await control.start();
    this.control = control;
    try {
      const { stalePid } = writePidFile(this.settings.pidFile);
      if (stalePid) this.log.warn({ stalePid, pidFile: this.settings.pidFile }, 'replaced a stale pid file (no server answered for it)');
      this.register(control.path);
      if (this.settings.metrics) {
        const metrics = new MetricsServer(this.settings.metrics, this);
        await metrics.start();
        this.metrics = metrics;
        this.log.info({ metrics: this.settings.metrics, address: metrics.boundAddress }, `metrics and health on ${this.settings.metrics}`);
      }
      this.supervisor.setup();
      const results = await Promise.all(
        Array.from({ length: this.settings.workerNum }, (_, i) => this.supervisor.spawn(i + 1).catch((e: unknown) => BeyodError.from(e))),
      );
      const failed = results.find((r) => r instanceof BeyodError);
      if (failed) throw failed;
    } catch (e) {
      await this.teardown(0);
      throw e;
    }
    this.supervisor.supervising = true;
    this.installSignals();
    this.log.info({ workers: this.settings.workerNum, pidFile: this.settings.pidFile }, 'master started');
  }

  /** Put this server in the per-user registry `beyod list` reads (best effort). */
  private register(socket: string): void {
    const { id, pidFile, configFile } = this.settings;
    const r = registerApp({ id, pid: process.pid, socket, pidFile, configFile, startAt: this.startAt });
    this.unregister = r.unregister;
    if (r.problem) this.log.warn({ problem: r.problem }, `not listed by \`beyod list\`: ${r.problem}`);
  }

  /** Rolling reload: every worker replaced one at a time, a changed workerNum applied. */
  reload(): Promise<ReloadResult> {
    if (this.stopping) return Promise.reject(new BeyodError(ErrorCodes.RELOAD_FAILED, 'the server is stopping'));
    return this.reloader.reload().then(
      (r) => {
        if (r.failed) this.tracker.reloadFailures++;
        else this.tracker.reloads++;
        return r;
      },
      (e: unknown) => {
        this.tracker.reloadFailures++;
        throw e;
      },
    );
  }

  /** Graceful stop: workers stop accepting and drain within stopTimeout, then we exit. */
  stop(): Promise<void> {
    this.stopping ??= this.teardown(this.settings.stopTimeout).then(() => {
      this.emit('stopped');
    });
    return this.stopping;
  }

  /** The control API's stop: begin, and say what we wait for. */
  async beginStop(): Promise<StopInfo> {
    const fresh = this.stopping ? new Map() : await this.supervisor.query<{ stats: WorkerStats }>('stats');
    let connections = 0;
    for (const s of this.supervisor.slots.values()) connections += (fresh.get(s.id)?.stats ?? s.current?.stats)?.connections ?? 0;
    setImmediate(() => void this.stop());
    return { pid: process.pid, connections, timeout: this.settings.stopTimeout };
  }

  private async teardown(timeout: number): Promise<void> {
    this.stopping ??= Promise.resolve();
    await this.supervisor.stopAll(timeout);
    await this.metrics?.close();
    this.unregister?.();
    await this.control?.close(() => releasePidFile(this.settings.pidFile));
    for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
    this.log.info('master stopped');
  }

  private installSignals(): void {
    const on = (sig: NodeJS.Signals, fn: () => void) => {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    };
    const stop = () => void this.stop();
    const reload = () => void this.reload().catch((e: unknown) => this.log.error({ err: toError(e).message }, 'reload failed'));
    on('SIGTERM', stop);
    on('SIGINT', stop);
    on('SIGUSR1', reload);
    on('SIGHUP', reload);
    on('SIGUSR2', () => void this.reopenLogs());
  }

  /** Reopen the log file under its name (logrotate moved the old one); SIGUSR2 does the same. */
  reopenLogs(): { logFile: string } {
    const logFile = this.output?.file ?? '';
    if (logFile) {
      this.output?.reopen?.();
      this.log.info({ logFile }, 'log file reopened');
    }
    return { logFile };
  }

  hello() {
    return {
      beyod: true as const,
      id: this.settings.id,
      pid: process.pid,
      pidFile: this.settings.pidFile,
      singleProcess: false,
      configFile: this.settings.configFile,
      logFile: this.output?.file ?? '',
      startAt: this.startAt,
    };
  }

  /** The master and every worker, with fresh figures where the worker answers in time. */
  async status(): Promise<StatusReport> {
    const sup = this.supervisor;
    const fresh = this.stopping ? new Map() : await sup.query<{ stats: WorkerStats; lag: number }>('stats');
    const now = Date.now();
    const workers = [...sup.slots.values()]
      .sort((a, b) => a.id - b.id)
      .map((s): WorkerStatus => {
        const p = s.current ?? s.incoming;
        const answer = fresh.get(s.id);
        if (p && answer) {
          p.stats = answer.stats;
          p.lag = answer.lag;
        }
        if (p && answer) this.tracker.onStats(p, answer.stats);
        const st = p?.stats;
        const state = this.stateOf(p);
        return toWorkerStatus(
          {
            workerId: s.id,
            pid: p?.pid ?? 0,
            gpid: gpidOf(this.settings.serverId, s.id),
            state,
            uptime: p ? now - p.forkedAt : 0,
            respawns: s.respawns,
            lag: p ? sup.lagOf(p, now) : 0,
          },
          st,
        );
      });
    const processes: ProcessStatus[] = [...sup.procs.values()]
      .filter((p) => !p.worker.isDead())
      .sort((a, b) => a.slotId - b.slotId || a.forkedAt - b.forkedAt)
      .map((p) => ({ workerId: p.slotId, pid: p.pid, role: p.role, connections: p.draining ?? p.stats?.connections ?? 0 }));
    return {
      id: this.settings.id,
      serverId: this.settings.serverId,
      singleProcess: false,
      master: { pid: process.pid, startAt: this.startAt, uptime: now - this.startAt },
      workerNum: this.settings.workerNum,
      stopping: Boolean(this.stopping),
      workers,
      processes,
    };
  }

  /** What `beyod status` shows for a worker id whose serving process is `p`. */
  private stateOf(p: Proc | null | undefined): WorkerStatus['state'] {
    if (!p) return 'down';
    if (this.stopping || p.limitHit) return 'stopping';
    if (!p.ready) return 'starting';
    return p.unresponsive ? 'unresponsive' : 'ready';
  }

  /** The metrics listener's /ready: every worker id has a process that accepts and answers. */
  ready(): Readiness {
    if (this.stopping) return { ok: false, reason: 'the server is stopping' };
    const workers = [];
    const why: string[] = [];
    for (let id = 1; id <= this.settings.workerNum; id++) {
      const s = this.supervisor.slots.get(id);
      const p = s?.current ?? s?.incoming;
      const state = this.stateOf(p);
      workers.push({ workerId: id, state });
      if (state === 'ready' || (state === 'stopping' && p?.ready)) continue; // recycling: it still serves
      why.push(state === 'down' ? `worker ${id} is down (being re-forked)` : `worker ${id} is ${state}`);
    }
    return { ok: why.length === 0, reason: why.join('; '), workers };
  }

  /** The metrics listener's /health: the master runs and is not stopping. */
  alive(): Readiness {
    return this.stopping ? { ok: false, reason: 'the server is stopping' } : { ok: true, reason: '' };
  }

  /** The Prometheus exposition, from the figures workers sent (no worker is asked). */
  metricsText(): string {
    const now = Date.now();
    const workers = [...this.supervisor.slots.values()]
      .sort((a, b) => a.id - b.id)
      .map((s) => {
        const p = s.current ?? s.incoming;
        return {
          workerId: s.id,
          ready: this.stateOf(p) === 'ready',
          startAt: p?.forkedAt ?? 0,
          memory: p?.stats?.memory ?? 0,
          lag: p ? this.supervisor.lagOf(p, now) : 0,
          respawns: s.respawns,
        };
      });
    return renderMetrics({
      id: this.settings.id,
      serverId: this.settings.serverId,
      version: VERSION,
      startAt: this.startAt,
      memory: process.memoryUsage.rss(),
      workerNum: this.settings.workerNum,
      workers,
      tracker: this.tracker,
    });
  }

  /** Every live connection of every worker. */
  connections(): Promise<ConnectionInfo[]> {
    return this.supervisor.connections();
  }
}

export type { ReloadResult } from './Reloader';
