import { EventEmitter } from 'node:events';
import { BeyodError, ErrorCodes, toError } from '../errors';
import { type Logger, rootLogger } from '../logger';
import { type ConnectionInfo, type WorkerStats, gpidOf } from '../Server';
import { ControlServer } from './control';
import { type ControlTarget, type StopInfo, controlHandler } from './ControlApi';
import { type ProcessStatus, type StatusReport, type WorkerStatus, toWorkerStatus } from './messages';
import { releasePidFile, writePidFile } from './pidFile';
import { type ReloadResult, Reloader } from './Reloader';
import type { MasterSettings } from './settings';
import type { ForkOptions, Proc } from './slots';
import { Supervisor } from './Supervisor';

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

  constructor(
    private settings: MasterSettings,
    options: MasterOptions,
  ) {
    super();
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
    this.supervisor.on('limit', (id: number, proc: Proc) => {
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

  /** Rolling reload: every worker replaced one at a time, a changed workerNum applied. */
  reload(): Promise<ReloadResult> {
    if (this.stopping) return Promise.reject(new BeyodError(ErrorCodes.RELOAD_FAILED, 'the server is stopping'));
    return this.reloader.reload();
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
  }

  hello() {
    return { beyod: true as const, id: this.settings.id, pid: process.pid, pidFile: this.settings.pidFile, singleProcess: false };
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
        const st = p?.stats;
        const state: WorkerStatus['state'] = !p
          ? 'down'
          : this.stopping || p.limitHit
            ? 'stopping'
            : !p.ready
              ? 'starting'
              : p.unresponsive
                ? 'unresponsive'
                : 'ready';
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
      .map((p) => ({
        workerId: p.slotId,
        pid: p.pid,
        role: p.role,
        connections: p.draining ?? p.stats?.connections ?? 0,
        ...(p.moving && { handoff: p.moving }),
      }));
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

  /** Every live connection of every worker. */
  connections(): Promise<ConnectionInfo[]> {
    return this.supervisor.connections();
  }
}

export type { ReloadResult } from './Reloader';
