import { EventEmitter } from 'node:events';
import type { Application } from '../Application';
import { BeyodError, ErrorCodes } from '../errors';
import { type Logger } from '../logger';
import { gpidOf } from '../Server';
import { ControlServer, controlSocketPath } from './control';
import { type StatusReport, toWorkerStatus } from './messages';
import { acquirePidFile, releasePidFile } from './pidFile';

/**
 * Single-process mode (`--single`, `singleProcess: true`): one worker (id 1) in this process,
 * no master. The pid file and the control socket still exist, so `beyod status` and
 * `beyod stop` work; reload does not (there is no second process to hand over to).
 */
export class SingleProcess extends EventEmitter {
  readonly pidFile: string;
  readonly controlPath: string;
  readonly startAt = Date.now();
  private control: ControlServer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(
    readonly app: Application,
    private readonly log: Logger = app.logger,
  ) {
    super();
    this.pidFile = app.resolvePath(app.server.pidFile);
    this.controlPath = controlSocketPath(this.pidFile);
  }

  async start(): Promise<void> {
    const server = this.app.server;
    const { stalePid } = acquirePidFile(this.pidFile);
    if (stalePid) this.log.warn({ stalePid, pidFile: this.pidFile }, 'replaced a stale pid file (that process is gone)');
    try {
      this.control = new ControlServer(this.controlPath, (req) => this.onControl(req.cmd));
      await this.control.start();
      await server.startWorker(1, process.pid);
    } catch (e) {
      this.control?.close();
      releasePidFile(this.pidFile);
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
    this.log.info({ pidFile: this.pidFile }, 'started in single-process mode');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.app.server.stopWorker();
      this.control?.close();
      releasePidFile(this.pidFile);
      for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
      this.emit('stopped');
    })();
    return this.stopping;
  }

  private onControl(cmd: string): unknown {
    const server = this.app.server;
    switch (cmd) {
      case 'status':
        return this.status();
      case 'connections':
        return server.getConnections();
      case 'stop':
        setImmediate(() => void this.stop());
        return { pid: process.pid };
      default:
        throw new BeyodError(
          ErrorCodes.UNKNOWN_COMMAND,
          cmd === 'reload' ? 'reload is not available in single-process mode' : `unknown control command '${cmd}'`,
        );
    }
  }

  status(): StatusReport {
    const server = this.app.server;
    const st = server.getStats();
    const now = Date.now();
    return {
      id: this.app.id,
      serverId: server.serverId,
      singleProcess: true,
      master: { pid: process.pid, startAt: this.startAt, uptime: now - this.startAt },
      workerNum: 1,
      workers: [
        toWorkerStatus(
          { workerId: 1, pid: process.pid, gpid: gpidOf(server.serverId, 1), state: 'ready', uptime: now - st.startAt, respawns: 0 },
          st,
        ),
      ],
    };
  }
}
