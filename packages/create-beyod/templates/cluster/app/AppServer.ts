import { Server } from '@beyod/core';
import { Client } from '@beyod/dispatcher';

/** What a push to a worker's GPID carries: which of its connections, and the line to send. */
export interface Push {
  conn: number;
  text: string;
}

/**
 * Each worker holds a dispatcher client subscribed to the worker's GPID, so anyone in the
 * cluster can reach this very process by publishing to that number (the seed's MyServer).
 */
export class AppServer extends Server {
  /** The dispatcher's address (set in config/main.ts). */
  dispatcher = 'tcp://127.0.0.1:2491';
  /** The dispatcher's token, when it has one (its handler's `token`). */
  dispatcherToken = '';
  client: Client | undefined = undefined;

  override async onWorkerStart(workerId: number, gpid: number): Promise<void> {
    await super.onWorkerStart(workerId, gpid);
    const client = new Client({
      target: this.dispatcher,
      token: this.dispatcherToken || undefined,
      reconnectInterval: 3,
      defaultChannel: gpid,
    });
    client.on('message', (event) => this.onPush(event.message.value as Partial<Push>));
    client.on('error', (err) => this.logger.warn({ dispatcher: this.dispatcher, err: err.message }, 'dispatcher client'));
    this.client = client;
    // Not awaited: the worker serves while the dispatcher is away; the client retries every 3 s
    // and subscribes again each time it connects.
    void client.connect().catch(() => {});
  }

  override async onWorkerStop(workerId: number, gpid: number): Promise<void> {
    await this.client?.close();
    await super.onWorkerStop(workerId, gpid);
  }

  /** A message published to this worker's GPID: hand it to the connection it names. */
  protected onPush(push: Partial<Push>): void {
    const connection = typeof push.conn === 'number' ? this.getListener('devices')?.connections.get(push.conn) : undefined;
    if (connection && typeof push.text === 'string') connection.send(push.text);
    else this.logger.warn({ conn: push.conn }, 'a push for a connection that is not here (gone, or a malformed push)');
  }
}
