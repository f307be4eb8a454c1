import { Handler, type MessageEvent } from '@beyod/core';

/** Echoes every message (frames or lines, whatever the parser is). */
export class EchoHandler extends Handler {
  /** Busy-loop iterations per message: a stand-in for application work (0 = pure echo). */
  work = 0;

  override onMessage(e: MessageEvent): void {
    if (this.work > 0) spin(this.work);
    e.sender.send(e.message);
  }
}

let sink = 0;
function spin(n: number): void {
  let x = sink;
  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;
  sink = x;
}
