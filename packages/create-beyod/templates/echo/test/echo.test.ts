import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningApp, startApp } from '@beyod/cli';

// The app as config/main.ts builds it (listener, parser, handler, server), on a real socket,
// inside this test process: one worker, no master. Port 0 lets the system pick a free port.
let app: RunningApp;
before(async () => {
  app = await startApp({ cwd: path.resolve(__dirname, '..'), listen: { echo: 'tcp://127.0.0.1:0' } });
});
after(() => app.stop());

test('each line comes back; quit says bye and closes', async () => {
  const socket = net.connect(app.port('echo'), '127.0.0.1');
  const { lines, closed } = reader(socket);
  socket.write('hello beyod\r\nquit\n');
  assert.deepEqual(await lines(3), ['welcome to __APP_NAME__: every line comes back, quit leaves', 'hello beyod', 'bye']);
  await closed();
});

test('a line over maxPacketSize closes that connection only', async () => {
  const bad = net.connect(app.port('echo'), '127.0.0.1');
  const good = net.connect(app.port('echo'), '127.0.0.1');
  const b = reader(bad);
  const g = reader(good);
  await Promise.all([b.lines(1), g.lines(1)]); // both greeted
  bad.write('x'.repeat(70 * 1024)); // no newline within 64 KiB (config/main.ts)
  await b.closed();
  good.write('still here\n');
  assert.equal((await g.lines(2))[1], 'still here');
  good.destroy();
});

/**
 * What a socket receives: `await lines(n)` waits until n lines have come, `await closed()`
 * until the socket is closed; each fails after 5 s.
 */
function reader(socket: net.Socket): { lines: (n: number) => Promise<string[]>; closed: () => Promise<void> } {
  let text = '';
  let isClosed = false;
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  socket.on('close', () => (isClosed = true));
  socket.on('error', () => {}); // a reset by the server shows as the close
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} within 5 s; received ${JSON.stringify(text)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    lines: async (n) => {
      await until(() => text.split('\n').length > n, `no ${n} lines`);
      return text.split('\n').slice(0, n);
    },
    closed: () => until(() => isClosed, 'not closed'),
  };
}
