/*
 * A WebSocket echo for bench/websocket/deflate.ts, in its own process (run with --expose-gc):
 * `deflateServer.ts KIND`. Prints "port N"; on 'memory' over IPC it collects garbage and
 * answers { rss, heap, external } in bytes; on 'cpu' it answers its CPU time in ms.
 */
import { Listener } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { WebSocketServer } from 'ws';

class Echo extends websocket.Handler {
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    event.sender.send(event.message);
  }
}

/** permessage-deflate of each kind; beyod's and ws's threshold is 1024 bytes either way. */
const KINDS: Record<string, { beyod?: boolean | websocket.PerMessageDeflateOptions; ws?: boolean | object }> = {
  'beyod plain': { beyod: false },
  'beyod deflate (default: no server takeover)': { beyod: true },
  'beyod deflate, server takeover': { beyod: { serverNoContextTakeover: false } },
  'beyod deflate, no takeover either way': { beyod: { clientNoContextTakeover: true } },
  'ws plain': { ws: false },
  'ws deflate (default: takeover)': { ws: true },
  'ws deflate, no server takeover': { ws: { serverNoContextTakeover: true } },
  'ws deflate, no takeover either way': { ws: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
};

async function main(): Promise<void> {
  const kind = KINDS[process.argv[2] ?? ''];
  if (kind === undefined) throw new Error(`unknown kind ${process.argv[2]}; one of: ${Object.keys(KINDS).join(' | ')}`);
  let port: number;
  if (kind.ws !== undefined) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: kind.ws as never });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    await new Promise<void>((r) => wss.once('listening', r));
    port = (wss.address() as { port: number }).port;
  } else {
    const l = Object.assign(new Listener(), {
      listen: 'tcp://127.0.0.1:0',
      parser: { class: websocket.Parser, perMessageDeflate: kind.beyod },
      handler: Echo,
      maxConnections: 0,
    });
    l.init();
    await l.start();
    port = l.port;
  }
  process.on('message', (m) => {
    if (m === 'memory') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      const u = process.memoryUsage();
      process.send?.({ rss: u.rss, heap: u.heapUsed, external: u.external });
    } else if (m === 'cpu') {
      const r = process.cpuUsage();
      process.send?.({ cpu: (r.user + r.system) / 1000 });
    }
  });
  process.on('disconnect', () => process.exit(0));
  console.log(`port ${port}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
