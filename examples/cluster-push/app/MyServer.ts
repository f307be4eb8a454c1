import { type MessageEvent, Server } from '@beyod/core';
import { Client, type Delivery } from '@beyod/dispatcher';

/**
 * The seed's MyServer: once a worker starts, it connects to the dispatcher with its GPID as
 * defaultChannel, so anyone in the cluster can reach this very process by publishing to
 * that number. The client reconnects by itself (every 6 s) and subscribes again each time.
 */
export class MyServer extends Server {
  /** Where the dispatcher listens (set in config/main.ts). */
  dispatcher = 'tcp://127.0.0.1:2491';
  /** Token of the dispatcher, when it has one. */
  dispatcherToken = '';
  client: Client | undefined = undefined;

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
    const client = new Client({
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
  protected onDispatcherMessage(event: MessageEvent<Delivery>): void {
    this.logger.info({ from: event.message.source, value: event.message.value }, `message on channel ${String(event.message.key)}`);
  }
}
