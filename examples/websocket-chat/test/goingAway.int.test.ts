import { once } from 'node:events';
import * as path from 'node:path';
import { Cleanup, until, waitFor } from 'test-helpers';
import WebSocket from 'ws';
import { beyod, portOf, startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const CONFIG = path.resolve(__dirname, '../config/main.ts');

/** A chat user: resolves once welcomed; `closed` resolves with the close code and reason. */
async function join(port: number): Promise<{ ws: WebSocket; closed: Promise<[number, string]>; events: Array<{ type: string }> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=u`);
  cleanup.add(ws, (w) => w.terminate());
  const closed = once(ws, 'close').then(([code, reason]) => [code as number, String(reason)] as [number, string]);
  const events: Array<{ type: string }> = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as { type: string }));
  await waitFor(ws, 'open');
  await until(() => events.some((e) => e.type === 'welcome'), 5000, 'the welcome');
  return { ws, closed, events };
}

// Through the real CLI: a worker that goes away tells the WebSocket clients it leaves behind
// (1001), instead of dropping them (1006, what they saw before). On a reload, a client that can
// move to the new worker (live handoff) is not told anything: it stays connected.
it('on beyod reload a client that moves stays connected, one that cannot gets 1001; beyod stop sends 1001', async () => {
  const chat = await startExample('websocket-chat', { CHAT_LISTEN: 'tcp://127.0.0.1:0', CHAT_WORKERS: '1' }, cleanup);
  const port = portOf(await chat.status());
  const idle = await join(port);
  const busy = await join(port);
  // half a message (a first fragment without FIN): it cannot move until the message is whole
  const first = Buffer.from([0x01, 0x80 | 4, 0, 0, 0, 0, ...Buffer.from('{"ty')]);
  (busy.ws as unknown as { _socket: import('node:net').Socket })._socket.write(first);
  const oldPid = (await chat.status()).workers[0]?.pid;

  const reload = await beyod(['reload', '--config', CONFIG, ...chat.args], chat.env);
  expect(reload.code).toBe(0);
  expect(reload.stderr).toMatch(/\(1 connection moved, 1 drained\)/);
  expect(await busy.closed).toEqual([1001, 'going away: reload']);

  const s = await until(
    async () => {
      const st = await chat.status();
      const w = st.workers[0];
      return w !== undefined && w.pid !== oldPid && w.state === 'ready' ? st : undefined;
    },
    20000,
    'the new worker',
  );
  // the idle one is served by the new worker: its message comes back to it
  idle.ws.send(JSON.stringify({ type: 'message', text: 'still here' }));
  await until(() => idle.events.some((e) => e.type === 'message'), 5000, 'its message, from the new worker');
  expect(s.workers[0]!.connections).toBe(1);
  const stop = await beyod(['stop', '--config', CONFIG, ...chat.args], chat.env);
  expect(stop.code).toBe(0);
  expect(await idle.closed).toEqual([1001, 'going away: stop']);
  expect(await chat.run.exited).toBe(0);
});
