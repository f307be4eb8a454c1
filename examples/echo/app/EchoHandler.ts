import { Handler, type IOEvent, type MessageEvent } from '@beyod/core';

/** Sends every line back, prefixed with the worker that handled it. */
export class EchoHandler extends Handler {
  /** Set in config/main.ts; shows how handler properties are configured. */
  greeting = 'welcome to beyod echo; every line you send comes back';

  override onConnect(event: IOEvent): void {
    event.sender.send(this.greeting);
  }

  override onMessage(event: MessageEvent<string>): void {
    if (event.message === 'quit') return event.sender.close('bye');
    event.sender.send(event.message);
  }
}
