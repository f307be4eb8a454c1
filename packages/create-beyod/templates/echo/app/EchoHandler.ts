import { Handler, type IOEvent, type MessageEvent } from '@beyod/core';

/**
 * Callbacks of the echo listener. One instance serves every connection of the listener in a
 * worker: keep per-connection state in `event.sender.attributes`, not in fields.
 */
export class EchoHandler extends Handler {
  /** Sent to each new connection; set it from the config: `handler: { class: EchoHandler, greeting: 'hi' }`. */
  greeting = 'welcome to __APP_NAME__: every line comes back, quit leaves';

  override onConnect(event: IOEvent): void {
    if (this.greeting) event.sender.send(this.greeting);
  }

  override onMessage(event: MessageEvent<string>): void {
    if (event.message.trim() === 'quit') {
      event.sender.close('bye'); // sends the last line, then closes
      return;
    }
    event.sender.send(event.message);
  }
}
