import { once } from 'node:events';
import * as path from 'node:path';
import { Cleanup, until, waitFor } from 'test-helpers';
import WebSocket from 'ws';
import { beyod, portOf, startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const CONFIG = path.resolve(__dirname, '../config/main.ts');

/** A chat user: resolves once welcomed; `closed` resolves with the close code and reason. */
async function join(port: number): Promise<{ ws: WebSocket; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=u`);
  cleanup.add(ws, (w) => w.terminate());
  const closed = once(ws, 'close').then(([code, reason]) => [code as number, String(reason)] as [number, string]);
  const welcomed = new Promise<void>((resolve) =>
    ws.on('message', (d) => {
      if ((JSON.parse(String(d)) as { type: string }).type === 'welcome') resolve();
    }),
  );
  await waitFor(ws, 'open');
  await welcomed;
  return { ws, closed };
}

// Through the real CLI: a worker that goes away tells its WebSocket clients (1001), instead of
// dropping them (1006, what they saw before).
it('clients see 1001 "going away" on beyod reload and on beyod stop', async () => {
  const chat = await startExample('websocket-chat', { CHAT_LISTEN: 'tcp://127.0.0.1:0', CHAT_WORKERS: '1' }, cleanup);
  const first = await join(portOf(await chat.status()));
  const oldPid = (await chat.status()).workers[0]?.pid;

  const reload = await beyod(['reload', '--config', CONFIG, ...chat.args], chat.env);
  expect(reload.code).toBe(0);
  expect(await first.closed).toEqual([1001, 'going away: reload']);

  const s = await until(
    async () => {
      const st = await chat.status();
      const w = st.workers[0];
      return w !== undefined && w.pid !== oldPid && w.state === 'ready' ? st : undefined;
    },
    20000,
    'the new worker',
  );
  const second = await join(portOf(s));
  const stop = await beyod(['stop', '--config', CONFIG, ...chat.args], chat.env);
  expect(stop.code).toBe(0);
  expect(await second.closed).toEqual([1001, 'going away: stop']);
  expect(await chat.run.exited).toBe(0);
});
