import { Server } from '@beyod/core';
import { type DeliveryEvent, type DispatcherClient, createClient } from '@beyod/dispatcher';

/**
 * The seed's MyServer: once a worker starts, it connects to the dispatcher with its GPID as
 * defaultChannel, so anyone in the cluster can reach this very process by publishing to
 * that number. The client reconnects by itself (every 6 s) and subscribes again each time.
 * `dispatcher` may name one beyod dispatcher, several, Redis or Redis Cluster: createClient
 * picks the backend, this code does not change.
 */
export class MyServer extends Server {
  /** Where the dispatcher listens, or Redis (set in config/main.ts). */
  dispatcher = 'tcp://127.0.0.1:2491';
  /** Token of the dispatcher, when it has one. */
  dispatcherToken = '';
  client: DispatcherClient | undefined = undefined;

  override async onWorkerStart(workerId: number, gpid: number): Promise<void> {
    await super.onWorkerStart(workerId, gpid);
    this.connectDispatcher();
  }

  override async onWorkerStop(workerId: number, gpid: number): Promise<void> {
    await this.client?.close();
    await super.onWorkerStop(workerId, gpid);
  }

  /** Connect to the dispatcher and subscribe to this worker's GPID. */
  protected connectDispatcher(): void {
    const client = createClient({
      target: this.dispatcher,
      reconnectInterval: 6, // after the dispatcher goes away, try again every 6 seconds
      defaultChannel: this.getGpid(), // subscribed on every (re)connect
      token: this.dispatcherToken || undefined,
    });
    client.on('message', (event) => this.onDispatcherMessage(event));
    client.on('connect', () => this.logger.info({ dispatcher: this.dispatcher }, `subscribed to my GPID ${this.getGpid()}`));
    client.on('error', (err) => this.logger.warn({ dispatcher: this.dispatcher, err: err.message }, 'dispatcher client'));
    this.client = client;
    // Not awaited: a worker must start even while the dispatcher is down; the client keeps trying.
    void client.connect().catch(() => {});
  }

  /** A message published to this worker's GPID (the seed printed it with print_r). */
  protected onDispatcherMessage(event: DeliveryEvent): void {
    this.logger.info({ from: event.message.source, value: event.message.value }, `message on channel ${String(event.message.key)}`);
  }
}
