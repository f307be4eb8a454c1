import { once } from 'node:events';
import * as path from 'node:path';
import { type RunningApp, startApp } from '@beyod/cli';
import { Cleanup, RawClient, until } from 'test-helpers';
import WebSocket from 'ws';

// The PHP beyod-app ported: its three listeners, on free ports, in this process (one worker).
const cleanup = new Cleanup();
let app: RunningApp;
beforeAll(async () => {
  app = await startApp({
    cwd: path.resolve(__dirname, '..'),
    listen: { https: 'tcp://127.0.0.1:0', websocket: 'tcp://127.0.0.1:0', text: 'tcp://127.0.0.1:0' },
  });
});
afterEach(() => cleanup.run());
afterAll(() => app.stop());

const web = (p: string, init?: RequestInit) => fetch(`http://127.0.0.1:${app.port('https')}${p}`, init);

describe('https (9723): webroot, .md pages, upload', () => {
  it('lists webroot (auto_index) and renders a .md page', async () => {
    const list = await web('/');
    expect(list.status).toBe(200);
    expect(await list.text()).toMatch(/href="docs\/"[\s\S]*href="websocket\.html"/);
    const page = await web('/docs/README.md');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toMatch(/^<!doctype html>.*<pre># beyod-app, ported\n/);
    expect((await web('/docs/..%2fwebsocket.html')).status).toBe(404);
    expect((await web('/docs/missing.md')).status).toBe(404);
  });

  it('upload.php: fields, query and files come back; a broken body gets 400 and the server carries on', async () => {
    const form = new FormData();
    form.set('user[name]', 'Zhang San');
    form.set('de', new Blob(['hello']), 'hello.txt');
    const res = await web('/upload?x=1', { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      post: { 'user[name]': 'Zhang San' },
      get: { x: '1' },
      files: [{ field: 'de', name: 'hello.txt', type: 'application/octet-stream', size: 5 }],
    });
    const broken = await web('/upload', {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zz' },
      body: 'not multipart',
    });
    expect(broken.status).toBe(400);
    expect((await web('/upload')).status).toBe(200);
  });
});

describe('websocket (9724): ChatHandler', () => {
  /** A chat client: `next(type)` resolves with the next frame of that type (5 s at most). */
  async function join() {
    const ws = new WebSocket(`ws://127.0.0.1:${app.port('websocket')}/`);
    cleanup.add(ws, (w) => w.terminate());
    const frames: Array<{ type: string; messageid: number; data: unknown }> = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await once(ws, 'open');
    const next = async (type: string) => {
      const i = await until(() => frames.findIndex((f) => f.type === type) + 1, 5000, `a ${type} frame`);
      return frames.splice(0, i).pop()!;
    };
    return { ws, next };
  }

  it('speaks the PHP wire format: userlist on join, nickname and leave; form-encoded messages to everyone', async () => {
    const a = await join();
    const [self] = (await a.next('userlist')).data as Array<{ id: number }>;
    const b = await join();
    const users = (await a.next('userlist')).data as Array<{ id: number; nickname: string | null }>;
    expect(users.map((u) => u.nickname)).toEqual([null, null]);
    const bob = users.find((u) => u.id !== self!.id)!;

    b.ws.send('nickname=bob&text=hi%20there&targets=');
    expect((await a.next('userlist')).data).toEqual(expect.arrayContaining([{ id: bob.id, nickname: 'bob' }]));
    const msg = await a.next('message');
    expect(msg).toMatchObject({ type: 'message', data: { nickname: 'bob', text: 'hi there', targets: '', id: bob.id } });
    expect((msg.data as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(await b.next('message')).toEqual(msg);

    b.ws.send('text=again&nickname=bob'); // same nickname: no new user list
    const again = await a.next('message');
    expect(again.messageid).toBe(msg.messageid + 1);
    b.ws.send(Buffer.from([1, 2, 3])); // binary: ignored, the connection stays
    b.ws.close();
    expect((await a.next('userlist')).data).toEqual([{ id: self!.id, nickname: null }]);
  });
});

describe('text (9725): the text Handler chat', () => {
  const lines = (c: RawClient) => c.received.toString().split(/\r?\n/);
  const waitLine = (c: RawClient, re: RegExp) => until(() => lines(c).find((l) => re.test(l)), 5000, `a line matching ${re}`);

  it('greets, tells the others who came, said what and left; quit says bye bye !', async () => {
    const a = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: app.port('text') }), (c) => c.destroy());
    const aId = (await waitLine(a, /^your connection id \d+$/)).split(' ').pop();
    expect(lines(a).slice(0, 3)).toEqual(['Beyod Text Echo Server', expect.stringMatching(/^Server Start At:\t\d{4}-/), 'GPID:\t65537']);
    const b = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: app.port('text') }), (c) => c.destroy());
    const bId = (await waitLine(b, /^your connection id \d+$/)).split(' ').pop();
    await waitLine(a, new RegExp(`^${bId} connected$`));

    a.write('hello\n');
    await waitLine(a, /^you said: hello$/);
    await waitLine(b, new RegExp(`^${aId}: hello$`)); // the sender's id (PHP printed the receiver's)

    a.write('quit\n');
    await waitLine(a, /^bye bye !$/);
    await a.waitClose(5000);
    await waitLine(b, new RegExp(`^${aId} quit !$`));
    await waitLine(b, new RegExp(`^${aId} disconnected$`));
  });
});
