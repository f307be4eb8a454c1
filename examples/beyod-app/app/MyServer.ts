import { Server } from '@beyod/core';
import { Client } from '@beyod/dispatcher';

/**
 * The beyod-app's MyServer. The PHP version had connectDispatcher() and connectRedisServer()
 * commented out in onWorkerStart; here the dispatcher connection is on when `dispatcher` is set
 * (e.g. tcp://127.0.0.1:9726, the port of dispatcher/config/main.ts).
 */
export class MyServer extends Server {
  /** The dispatcher to subscribe to this worker's GPID on ('' = none). PHP: $dispatch_server. */
  dispatcher = '';
  /** PHP: $client. */
  client: Client | undefined = undefined;

  override async onWorkerStart(workerId: number, gpid: number): Promise<void> {
    await super.onWorkerStart(workerId, gpid);
    if (this.dispatcher) this.connectDispatcher();
  }

  override async onWorkerStop(workerId: number, gpid: number): Promise<void> {
    await this.client?.close();
    await super.onWorkerStop(workerId, gpid);
  }

  /**
   * PHP: new Client(['target' => ..., 'reconnect_interval' => 6]) with an ON_CONNECT handler
   * that subscribed [$this->getGpid()]. `defaultChannel` does that on every (re)connect.
   */
  protected connectDispatcher(): void {
    this.client = new Client({ target: this.dispatcher, reconnectInterval: 6, defaultChannel: this.getGpid() });
    // PHP: print_r($event->message) in an ON_MESSAGE handler
    this.client.on('message', (event) => this.logger.info({ from: event.message.source, value: event.message.value }, 'dispatched to me'));
    this.client.on('error', (err) => this.logger.warn({ err: err.message }, 'dispatcher client'));
    void this.client.connect().catch(() => {});
  }
}
