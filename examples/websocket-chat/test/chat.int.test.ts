import { once } from 'node:events';
import { Cleanup, waitFor } from 'test-helpers';
import WebSocket from 'ws';
import { startChat } from './startChat';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Event = { type: string; [k: string]: unknown };

/** A chat client that keeps every event it got. */
async function join(
  port: number,
  name?: string,
): Promise<{ ws: WebSocket; events: Event[]; next: (type: string, test?: (e: Event) => boolean) => Promise<Event> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${name ? `?name=${encodeURIComponent(name)}` : ''}`);
  cleanup.add(ws, (w) => w.terminate());
  const events: Event[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d)) as Event));
  await waitFor(ws, 'open');
  const next = async (type: string, test: (e: Event) => boolean = () => true): Promise<Event> => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const i = events.findIndex((e) => e.type === type && test(e));
      if (i >= 0) return events.splice(0, i + 1).pop() as Event;
      if (Date.now() > deadline) throw new Error(`no ${type} event; got ${JSON.stringify(events)}`);
      await once(ws, 'message', { signal: AbortSignal.timeout(deadline - Date.now()) });
    }
  };
  return { ws, events, next };
}

const names = (e: Event) => (e.users as Array<{ name: string }>).map((u) => u.name).sort();

describe('websocket-chat example', () => {
  it('serves the chat page on the same port', async () => {
    const l = await startChat(cleanup);
    const page = await fetch(`http://127.0.0.1:${l.port}/`);
    expect(await page.text()).toContain('<script src="chat.js"></script>');
    expect((await fetch(`http://127.0.0.1:${l.port}/chat.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('welcome, user list on join / rename / leave, messages to everyone', async () => {
    const l = await startChat(cleanup);
    const ann = await join(l.port, 'Ann');
    expect(await ann.next('welcome')).toMatchObject({ name: 'Ann' });
    const bob = await join(l.port);
    expect((await bob.next('welcome')).name).toMatch(/^guest-\d+$/);
    expect(names(await ann.next('users', (e) => (e.users as unknown[]).length === 2))).toEqual(['Ann', expect.stringMatching(/^guest-/)]);

    bob.ws.send(JSON.stringify({ type: 'nick', name: ' Bob\u0007 ' }));
    expect(names(await ann.next('users', (e) => names(e).includes('Bob')))).toEqual(['Ann', 'Bob']);

    bob.ws.send(JSON.stringify({ type: 'message', text: 'hi <b>all</b>' }));
    for (const c of [ann, bob]) expect(await c.next('message')).toMatchObject({ from: 'Bob', text: 'hi <b>all</b>' });

    bob.ws.send('not json');
    expect((await bob.next('error')).message).toContain('expected');

    bob.ws.close();
    expect(names(await ann.next('users', (e) => (e.users as unknown[]).length === 1))).toEqual(['Ann']);
  });
});
