import { Server } from '@beyod/core';

/**
 * The server component. Every worker process has its own instance: open what a worker needs
 * (database pools, clients, timers) in onWorkerStart and close it in onWorkerStop.
 */
export class AppServer extends Server {
  override async onWorkerStart(workerId: number, gpid: number): Promise<void> {
    await super.onWorkerStart(workerId, gpid);
    this.logger.info(`worker ${workerId} ready`); // log lines already carry workerId, gpid and pid
  }

  override async onWorkerStop(workerId: number, gpid: number): Promise<void> {
    await super.onWorkerStop(workerId, gpid);
  }
}
