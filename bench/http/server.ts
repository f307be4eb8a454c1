/* A "hello world" HTTP server for bench/http/run.ts: `server.ts beyod|node <workers>`. */
import * as nodeHttp from 'node:http';
import { Listener } from '@beyod/core';
import { http } from '@beyod/protocols';
import { runServer } from './common';

class Hello extends http.Handler {
  override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end('hello world');
  }
}

const [kind = 'beyod', workers = '1'] = process.argv.slice(2);

runServer(Number(workers), async () => {
  if (kind === 'node') {
    const server = nodeHttp.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end('hello world');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    process.on('SIGTERM', () => process.exit(0));
    return (server.address() as { port: number }).port;
  }
  const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: http.Parser, handler: Hello });
  l.init();
  await l.start();
  process.on('SIGTERM', () => process.exit(0));
  return l.port;
});
