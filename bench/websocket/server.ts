/* A WebSocket echo server for bench/websocket/run.ts: `server.ts beyod|ws <workers>`. */
import { Listener } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { WebSocketServer } from 'ws';
import { runServer } from '../http/common';

class Echo extends websocket.Handler {
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    event.sender.send(event.message);
  }
}

const [kind = 'beyod', workers = '1'] = process.argv.slice(2);

runServer(Number(workers), async () => {
  process.on('SIGTERM', () => process.exit(0));
  if (kind === 'ws') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    await new Promise<void>((r) => wss.once('listening', r));
    return (wss.address() as { port: number }).port;
  }
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: websocket.Parser, handler: Echo });
  l.init();
  await l.start();
  return l.port;
});
