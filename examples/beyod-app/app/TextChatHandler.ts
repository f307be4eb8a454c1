import { type CloseEvent, type Connection, Handler, type IOEvent, type MessageEvent } from '@beyod/core';

/**
 * beyod\protocol\text\Handler of the PHP framework, which the beyod-app used on port 9725: a
 * small line chat. A new connection gets a banner; the others hear "<id> connected"; each line
 * goes to the others as "<id>: line" and back to the sender as "you said: line"; `quit`
 * answers "bye bye !" and closes.
 *
 * Fixed on the way: PHP named the *receiving* connection in what it sent to the others (each
 * one saw its own id as the speaker), and reached the connections through `->listenner`, a
 * property the Connection no longer had, so nothing reached the others at all.
 */
export class TextChatHandler extends Handler {
  private banner = '';

  override onStartAccept(): void {
    const server = this.listener?.server;
    const startAt = new Date().toISOString().replace('T', ' ').slice(0, 19);
    this.banner = `Beyod Text Echo Server\r\nServer Start At:\t${startAt}\r\nGPID:\t${server?.getGpid()}\r\n`;
  }

  override onConnect(event: IOEvent): void {
    event.sender.send(`${this.banner}your connection id ${event.sender.id}\r\nPlease input message, quit to disconnect:`);
    this.toOthers(event.sender, `${event.sender.id} connected`);
  }

  override onMessage(event: MessageEvent<string>): void {
    if (event.message === 'quit') {
      this.toOthers(event.sender, `${event.sender.id} quit !`);
      event.sender.close('bye bye !');
      return;
    }
    this.toOthers(event.sender, `${event.sender.id}: ${event.message}`);
    event.sender.send(`you said: ${event.message}`);
  }

  override onClose(event: CloseEvent): void {
    this.toOthers(event.sender, `${event.sender.id} disconnected`);
  }

  private toOthers(sender: { id: number }, line: string): void {
    for (const conn of this.listener?.connections.values() ?? []) if (conn.id !== sender.id) (conn as Connection).send(line);
  }
}
