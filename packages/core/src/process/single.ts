import { EventEmitter } from 'node:events';
import type { Application } from '../Application';
import { type Logger, logFileOf, reopenLog } from '../logger';
import { type ConnectionInfo, gpidOf } from '../Server';
import { ControlServer } from './control';
import { type ControlTarget, type StopInfo, controlHandler } from './ControlApi';
import { type StatusReport, toWorkerStatus } from './messages';
import { releasePidFile, writePidFile } from './pidFile';
import { registerApp } from './registry';
import { LagMeter } from './worker';

/**
 * Single-process mode (`--single`, `singleProcess: true`): one worker (id 1) in this process,
 * no master. The pid file and the control socket still exist, so `beyod status` and
 * `beyod stop` work; reload does not (there is no second process to hand over to).
 */
export class SingleProcess extends EventEmitter implements ControlTarget {
  readonly pidFile: string;
  readonly startAt = Date.now();
  private control: ControlServer | undefined;
  private readonly loop = new LagMeter();
  private stopping: Promise<void> | undefined;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  private unregister: (() => void) | undefined;

  constructor(
    readonly app: Application,
    private readonly log: Logger = app.logger,
    pidFile?: string,
  ) {
    super();
    this.pidFile = pidFile ?? app.resolvePath(app.server.pidFile);
  }

  async start(): Promise<void> {
    const server = this.app.server;
    const control = new ControlServer(this.pidFile, controlHandler(this));
    await control.start();
    this.control = control;
    try {
      const { stalePid } = writePidFile(this.pidFile);
      if (stalePid) this.log.warn({ stalePid, pidFile: this.pidFile }, 'replaced a stale pid file (no server answered for it)');
      const r = registerApp({
        id: this.app.id,
        pid: process.pid,
        socket: control.path,
        pidFile: this.pidFile,
        configFile: this.app.configFile ?? '',
        startAt: this.startAt,
      });
      this.unregister = r.unregister;
      if (r.problem) this.log.warn({ problem: r.problem }, `not listed by \`beyod list\`: ${r.problem}`);
      await server.startWorker(1, process.pid);
    } catch (e) {
      this.unregister?.();
      await control.close(() => releasePidFile(this.pidFile));
      throw e;
    }
    const on = (sig: NodeJS.Signals, fn: () => void) => {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    };
    const stop = () => void this.stop();
    on('SIGTERM', stop);
    on('SIGINT', stop);
    const noReload = () => this.log.warn('reload needs the master/worker mode; in single-process mode restart instead');
    on('SIGUSR1', noReload);
    on('SIGHUP', noReload);
    on('SIGUSR2', () => void this.reopenLogs());
    this.log.info({ pidFile: this.pidFile }, 'started in single-process mode');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.app.server.stopWorker(undefined, 'stop');
      this.unregister?.();
      await this.control?.close(() => releasePidFile(this.pidFile));
      for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
      this.emit('stopped');
    })();
    return this.stopping;
  }

  hello() {
    return {
      beyod: true as const,
      id: this.app.id,
      pid: process.pid,
      pidFile: this.pidFile,
      singleProcess: true,
      configFile: this.app.configFile ?? '',
      logFile: logFileOf(this.log),
      startAt: this.startAt,
    };
  }

  /** Reopen the log file (logrotate moved it); SIGUSR2 does the same. */
  reopenLogs(): { logFile: string } {
    const logFile = logFileOf(this.log);
    if (logFile) {
      reopenLog(this.log);
      this.log.info({ logFile }, 'log file reopened');
    }
    return { logFile };
  }

  beginStop(): StopInfo {
    const connections = this.app.server.getStats().connections;
    setImmediate(() => void this.stop());
    return { pid: process.pid, connections, timeout: this.app.server.stopTimeout };
  }

  connections(): ConnectionInfo[] {
    return this.app.server.getConnections();
  }

  status(): StatusReport {
    const server = this.app.server;
    const st = server.getStats();
    const now = Date.now();
    const state = this.stopping ? 'stopping' : 'ready';
    return {
      id: this.app.id,
      serverId: server.serverId,
      singleProcess: true,
      master: { pid: process.pid, startAt: this.startAt, uptime: now - this.startAt },
      workerNum: 1,
      stopping: Boolean(this.stopping),
      workers: [
        toWorkerStatus(
          {
            workerId: 1,
            pid: process.pid,
            gpid: gpidOf(server.serverId, 1),
            state,
            uptime: now - st.startAt,
            respawns: 0,
            lag: this.loop.get(),
          },
          st,
        ),
      ],
      processes: [{ workerId: 1, pid: process.pid, role: 'current', connections: st.connections }],
    };
  }
}
