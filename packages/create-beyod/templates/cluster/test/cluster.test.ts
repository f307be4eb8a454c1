import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningApp, startApp } from '@beyod/cli';
import { pushToDevice } from '../scripts/push';

// Both apps as their configs build them, on real sockets, inside this test process: the
// dispatcher, and one worker of the app (GPID 65537). Port 0 lets the system pick free ports.
const root = path.resolve(__dirname, '..');
let dispatcher: RunningApp;
let app: RunningApp;
let target: string;
before(async () => {
  dispatcher = await startApp({ cwd: root, config: 'dispatcher/config/main.ts', listen: { dispatcher: 'tcp://127.0.0.1:0' } });
  target = `tcp://127.0.0.1:${dispatcher.port('dispatcher')}`;
  app = await startApp({
    cwd: root,
    listen: { devices: 'tcp://127.0.0.1:0' },
    override: { components: { server: { dispatcher: target } } },
  });
});
after(async () => {
  await app.stop();
  await dispatcher.stop();
});

test('a push reaches the device through the GPID of the worker that holds it', async () => {
  const device = net.connect(app.port('devices'), '127.0.0.1');
  const { lines } = reader(device);
  assert.equal((await lines(1))[0], 'hello from GPID 65537; say: login <name>');
  device.write('login lamp\n');
  assert.equal((await lines(2))[1], 'ok lamp');

  assert.equal(await pushToDevice(target, 'lamp', 'switch on'), true);
  assert.equal((await lines(3))[2], 'switch on');
  assert.equal(await pushToDevice(target, 'kettle', 'boil'), false); // never logged in
  device.destroy();
});

test('a bad line gets the usage, and the connection carries on', async () => {
  const device = net.connect(app.port('devices'), '127.0.0.1');
  const { lines } = reader(device);
  device.write('logn lamp\nlogin fan\n');
  assert.deepEqual((await lines(3)).slice(1), ['say: login <name> (letters, digits, - . _)', 'ok fan']);
  device.destroy();
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
