import { type CloseEvent, Handler, type IOEvent, type MessageEvent } from '@beyod/core';
import type { AppServer, Push } from './AppServer';

const LOGIN = /^login ([\w.-]{1,64})$/;

/** Where a device is: the worker (GPID) and its connection id there. */
export type Location = Pick<Push, 'conn'> & { gpid: number };

/** The dispatcher hash key of a device. */
export const deviceKey = (name: string): string => `device:${name}`;

/**
 * Devices speak lines: `login <name>` records where the device is connected in the
 * dispatcher's hash, so a push can find it from anywhere in the cluster.
 */
export class DeviceHandler extends Handler {
  private get server(): AppServer {
    return this.listener?.server as AppServer;
  }

  override onConnect(event: IOEvent): void {
    event.sender.send(`hello from GPID ${this.server.getGpid()}; say: login <name>`);
  }

  override async onMessage(event: MessageEvent<string>): Promise<void> {
    const name = LOGIN.exec(event.message.trim())?.[1];
    if (!name) {
      event.sender.send('say: login <name> (letters, digits, - . _)');
      return;
    }
    const where: Location = { gpid: this.server.getGpid(), conn: event.sender.id };
    try {
      await this.server.client?.set(deviceKey(name), where);
    } catch (e) {
      event.sender.send(`error: the dispatcher did not record ${name} (${(e as Error).message})`);
      return;
    }
    event.sender.attributes.set('device', name);
    event.sender.send(`ok ${name}`);
  }

  override async onClose(event: CloseEvent): Promise<void> {
    const name = event.sender.attributes.get('device') as string | undefined;
    const client = this.server.client;
    if (!name || !client?.connected) return;
    // Forget the device unless it has logged in again elsewhere since (then the entry is theirs).
    try {
      const now = (await client.get(deviceKey(name))).value as Location | null;
      if (now?.gpid === this.server.getGpid() && now.conn === event.sender.id) await client.delete(deviceKey(name));
    } catch {
      // The dispatcher went away, or this worker is stopping and closed its client: the entry
      // stays until the device logs in again, and a push to it finds nobody (published: 0).
    }
  }
}
