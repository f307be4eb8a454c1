import { once } from 'node:events';
import { Cleanup, until, waitFor } from 'test-helpers';
import WebSocket from 'ws';
import { portOf, startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Event = { type: string; [k: string]: unknown };

async function join(port: number, name: string): Promise<{ ws: WebSocket; events: Event[]; id: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?name=${name}`);
  cleanup.add(ws, (w) => w.terminate());
  const events: Event[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as Event));
  await waitFor(ws, 'open');
  const welcome = await until(() => events.find((e) => e.type === 'welcome'), 3000, 'welcome');
  return { ws, events, id: welcome.id as string };
}

// The chat with 2 workers (through the real CLI) sharing one room through a dispatcher.
it('users on different workers see each other and each other’s messages', async () => {
  const dispatcher = await startExample('dispatcher', { DISPATCHER_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
  const target = `tcp://127.0.0.1:${portOf(await dispatcher.status())}`;
  const chat = await startExample(
    'websocket-chat',
    { CHAT_WORKERS: '2', CHAT_DISPATCHER: target, CHAT_LISTEN: 'tcp://127.0.0.1:0' },
    cleanup,
  );
  const s = await chat.status();
  await until(
    () => chat.run.logs().filter((l) => String(l.msg).startsWith('chat: sharing the room')).length === 2,
    10000,
    'both workers on the dispatcher',
  );
  const port = portOf(s);

  // connect until two users sit on different workers (ids are "<gpid>-<conn>")
  const users: Array<Awaited<ReturnType<typeof join>>> = [];
  const gpidOf = (u: { id: string }) => u.id.split('-')[0];
  for (let i = 0; i < 20 && new Set(users.map(gpidOf)).size < 2; i++) users.push(await join(port, `u${i}`));
  const a = users[0]!;
  const b = users.find((u) => gpidOf(u) !== gpidOf(a));
  expect(b).toBeDefined();

  // the user list a sees includes b, who is on the other worker
  await until(
    () => a.events.some((e) => e.type === 'users' && (e.users as Array<{ id: string }>).some((u) => u.id === b!.id)),
    5000,
    'b in a’s user list',
  );

  b!.ws.send(JSON.stringify({ type: 'message', text: 'across workers' }));
  const got = await until(() => a.events.find((e) => e.type === 'message'), 5000, 'the message on a');
  expect(got).toMatchObject({ text: 'across workers', id: b!.id });

  // b leaves: a's list drops b
  b!.ws.close();
  await once(b!.ws, 'close');
  await until(
    () => {
      const lists = a.events.filter((e) => e.type === 'users');
      const last = lists[lists.length - 1]?.users as Array<{ id: string }> | undefined;
      return last && !last.some((u) => u.id === b!.id);
    },
    5000,
    'b gone from a’s list',
  );
});
