import { Handler, type MessageEvent } from '@beyod/core';

/** Echoes every message (frames or lines, whatever the parser is). */
export class EchoHandler extends Handler {
  override onMessage(e: MessageEvent): void {
    e.sender.send(e.message);
  }
}
