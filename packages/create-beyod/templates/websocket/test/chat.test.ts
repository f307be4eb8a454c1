import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningApp, startApp } from '@beyod/cli';
import WebSocket from 'ws';

// The app as config/main.ts builds it, on a real socket, inside this test process (one worker,
// no master). Port 0 lets the system pick a free port; app.port('chat') reads it back.
let app: RunningApp;
let url: string;
before(async () => {
  app = await startApp({ cwd: path.resolve(__dirname, '..'), listen: { chat: 'tcp://127.0.0.1:0' } });
  url = `ws://127.0.0.1:${app.port('chat')}/ws`;
});
after(() => app.stop());

test('a message reaches everyone in the room', async () => {
  const alice = await join();
  assert.deepEqual(await alice.next(), { type: 'welcome', name: 'guest-1' });
  const bob = await join();
  assert.deepEqual(await bob.next(), { type: 'welcome', name: 'guest-2' });
  assert.deepEqual(await alice.next(), { type: 'joined', name: 'guest-2' });

  bob.ws.send('hello everyone');
  const said = { type: 'message', from: 'guest-2', text: 'hello everyone' };
  assert.deepEqual(await alice.next(), said);
  assert.deepEqual(await bob.next(), said);

  bob.ws.close();
  assert.deepEqual(await alice.next(), { type: 'left', name: 'guest-2' });
  alice.ws.close();
  await once(alice.ws, 'close');
});

test('a message over maxPayload closes that connection (1009); the room carries on', async () => {
  const big = await join();
  const { name: bigName } = (await big.next()) as { name: string };
  const other = await join();
  const { name } = (await other.next()) as { name: string };
  await big.next(); // other joined
  big.ws.send('x'.repeat(70 * 1024)); // over the parser's maxPayload of 64 KiB (config/main.ts)
  const [code] = (await once(big.ws, 'close')) as [number];
  assert.equal(code, 1009);
  assert.deepEqual(await other.next(), { type: 'left', name: bigName });
  other.ws.send('still here');
  assert.deepEqual(await other.next(), { type: 'message', from: name, text: 'still here' });
  other.ws.close();
});

test('the page is served on the same port', async () => {
  const res = await fetch(`http://127.0.0.1:${app.port('chat')}/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /new WebSocket/);
});

/** Open a WebSocket; `next()` resolves with the next JSON message (5 s at most). */
async function join(): Promise<{ ws: WebSocket; next: () => Promise<unknown> }> {
  const ws = new WebSocket(url);
  const inbox: unknown[] = [];
  ws.on('message', (data) => inbox.push(JSON.parse(String(data))));
  await once(ws, 'open');
  const next = async () => {
    const deadline = Date.now() + 5000;
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no message within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return inbox.shift();
  };
  return { ws, next };
}
