import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Application, type Connection, type ErrorEvent, type ShutdownEvent } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { Cleanup, selfSignedCert, tmpDir, until, waitFor } from 'test-helpers';
import WebSocket from 'ws';
import { rawClient, responses, startHttp } from './httpTestUtil';
import { clientFrame, handshakeRequest, serverFrames } from './websocketTestUtil';

const { Opcode } = websocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Echoes messages; records handshakes, closes and bad packets. */
class Echo extends websocket.Handler {
  handshakes: websocket.HandshakeEvent[] = [];
  closes: websocket.WebSocketCloseEvent[] = [];
  bad: Array<Error & { code?: string }> = [];
  conns: Connection[] = [];
  override onHandshake(e: websocket.HandshakeEvent): void {
    this.handshakes.push(e);
    this.conns.push(e.sender);
  }
  override onMessage(e: websocket.WebSocketMessageEvent): void {
    if (e.message === 'close me') this.close(e.sender, 4001, 'as you wish');
    else if (typeof e.message === 'string' && e.message.startsWith('broadcast'))
      this.broadcast(`all from ${e.sender.id}${e.message.slice(9)}`);
    else e.sender.send(e.message);
  }
  override onClose(e: websocket.WebSocketCloseEvent): void {
    this.closes.push(e);
  }
  override onBadPacket(e: ErrorEvent): void {
    this.bad.push(e.error);
  }
}

async function server(handler: Partial<websocket.WebSocketHandler> = {}, parser: Partial<websocket.WebSocketParser> = {}, listener = {}) {
  const h = Object.assign(new Echo(), handler);
  const l = await startHttp(cleanup, h, listener, { class: websocket.Parser, ...parser });
  return { l, h, url: `ws://127.0.0.1:${l.port}` };
}

/** The Sec-WebSocket-Extensions the server answered each client (ws.extensions has only the names). */
const agreed = new WeakMap<WebSocket, string>();

async function connect(url: string, protocols?: string | string[], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  cleanup.add(ws, (w) => w.terminate());
  ws.on('upgrade', (res) => agreed.set(ws, String(res.headers['sec-websocket-extensions'] ?? '')));
  await waitFor(ws, 'open');
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return once(ws, 'message', { signal: AbortSignal.timeout(3000) }).then(([data, binary]) => ({
    data: data as Buffer,
    binary: binary as boolean,
  }));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return once(ws, 'close', { signal: AbortSignal.timeout(3000) }).then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }));
}

describe('websocket with the ws client', () => {
  it('handshake, text and binary echo, onHandshake sees the request', async () => {
    const { url, h } = await server();
    const ws = await connect(`${url}/chat?room=1`);
    ws.send('héllo');
    const t = await nextMessage(ws);
    expect([t.data.toString(), t.binary]).toEqual(['héllo', false]);
    ws.send(Buffer.from([0, 1, 2]));
    const b = await nextMessage(ws);
    expect([b.data, b.binary]).toEqual([Buffer.from([0, 1, 2]), true]);
    expect(h.handshakes[0]?.request.path).toBe('/chat');
    expect(h.handshakes[0]?.request.query).toEqual({ room: '1' });
  });

  it('16- and 64-bit lengths and fragmented messages', async () => {
    const { url } = await server({}, { maxPayload: 1 << 20 });
    const ws = await connect(url);
    for (const n of [126, 65535, 65536, 300_000]) {
      ws.send(Buffer.alloc(n, 9));
      expect((await nextMessage(ws)).data.length).toBe(n);
    }
    ws.send('frag-', { fin: false });
    ws.send('men-', { fin: false });
    ws.send('ted', { fin: true });
    expect((await nextMessage(ws)).data.toString()).toBe('frag-men-ted');
  });

  it('answers pings with pongs carrying the payload', async () => {
    const { url } = await server();
    const ws = await connect(url);
    ws.ping('are you there');
    const [data] = await once(ws, 'pong', { signal: AbortSignal.timeout(3000) });
    expect(String(data)).toBe('are you there');
  });

  it('subprotocol selection: the first offered that the server speaks', async () => {
    const { url, h } = await server({ protocols: ['v2', 'v1'] });
    const ws = await connect(url, ['v0', 'v1', 'v2']);
    expect(ws.protocol).toBe('v1');
    expect(h.handshakes[0]?.protocol).toBe('v1');
    const plain = await connect(url);
    expect(plain.protocol).toBe('');
  });

  it('close from the client: echoed, onClose gets its code and reason', async () => {
    const { url, h } = await server();
    const ws = await connect(url);
    const done = closed(ws);
    ws.close(4000, 'bye now');
    expect(await done).toEqual({ code: 4000, reason: '' });
    await until(() => h.closes.length === 1);
    expect([h.closes[0]?.code, h.closes[0]?.closeReason]).toEqual([4000, 'bye now']);
  });

  it('close from the server with a code and reason', async () => {
    const { url, h } = await server();
    const ws = await connect(url);
    const done = closed(ws);
    ws.send('close me');
    expect(await done).toEqual({ code: 4001, reason: 'as you wish' });
    await until(() => h.closes.length === 1);
    expect(h.closes[0]?.code).toBe(4001);
  });

  it('a dropped connection reports 1006', async () => {
    const { url, h } = await server();
    const ws = await connect(url);
    ws.terminate();
    await until(() => h.closes.length === 1);
    expect(h.closes[0]?.code).toBe(1006);
  });

  it('1007 for a text message that is not UTF-8; other clients carry on', async () => {
    const { url, h } = await server();
    const other = await connect(url);
    const ws = await connect(url);
    const done = closed(ws);
    ws.send(Buffer.from([0x68, 0xff, 0x69]), { binary: false });
    expect((await done).code).toBe(1007);
    expect(h.bad[0]?.code).toBe(websocket.WebSocketErrorCodes.INVALID_UTF8);
    other.send('still fine');
    expect((await nextMessage(other)).data.toString()).toBe('still fine');
  });

  it('1009 for a message over maxPayload', async () => {
    const { url, h } = await server({}, { maxPayload: 1000 });
    const ws = await connect(url);
    const done = closed(ws);
    ws.send(Buffer.alloc(1001));
    expect((await done).code).toBe(1009);
    await until(() => h.closes.length === 1);
    expect(h.closes[0]?.code).toBe(1009);
  });

  it('maxPayload is the one limit: a 9 MiB frame (over the HTTP maxPacketSize) is echoed under maxPayload 16 MiB', async () => {
    // It used to be closed with 1009 "message of 8388608 bytes exceeds maxPayload 16777216".
    const { url } = await server({}, { maxPayload: 16 * 1024 * 1024 });
    const ws = await connect(url, undefined, { maxPayload: 32 * 1024 * 1024 });
    const big = Buffer.alloc(9 * 1024 * 1024, 'nine MiB ');
    ws.send(big);
    const echo = await nextMessage(ws);
    expect([echo.data.length, echo.data.equals(big)]).toEqual([big.length, true]);
    const done = closed(ws);
    ws.send(Buffer.alloc(16 * 1024 * 1024 + 1));
    expect(await done).toEqual({ code: 1009, reason: 'frame of 16777217 bytes exceeds maxPayload 16777216' });
  });

  it('heartbeat: a ws client (which answers pings) stays; a silent raw client is dropped', async () => {
    const { l, url, h } = await server({ heartbeatInterval: 0.2 });
    const ws = await connect(url);
    const raw = await rawClient(cleanup, l);
    raw.write(handshakeRequest());
    await raw.waitUntil((b) => b.includes('\r\n\r\n'));
    await raw.waitClose(3000);
    expect(serverFrames(raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4)).some(([op]) => op === Opcode.PING)).toBe(true);
    await until(() => h.closes.length === 1);
    expect(h.closes[0]?.code).toBe(1006);
    ws.send('alive');
    expect((await nextMessage(ws)).data.toString()).toBe('alive');
  });

  it('broadcast reaches every WebSocket client of the listener', async () => {
    const { url, h } = await server();
    const a = await connect(url);
    const b = await connect(url);
    const c = await connect(url);
    const got = Promise.all([a, b, c].map(nextMessage));
    b.send('broadcast');
    const id = h.conns[1]?.id;
    expect((await got).map((m) => m.data.toString())).toEqual([`all from ${id}`, `all from ${id}`, `all from ${id}`]);
    expect([...h.clients()]).toHaveLength(3);
  });

  it('handshake refusals: version 426, bad key 400, path 404, origin 403', async () => {
    const { l, url } = await server({ path: '/ws', allowedOrigins: ['https://good.example'] });
    const attempts: Array<[string, number]> = [
      [handshakeRequest('/ws', 'Origin: https://good.example\r\n').replace('Version: 13', 'Version: 8'), 426],
      [handshakeRequest('/ws', 'Origin: https://good.example\r\n').replace('dGhlIHNhbXBsZSBub25jZQ==', 'short'), 400],
      [handshakeRequest('/elsewhere', 'Origin: https://good.example\r\n'), 404],
      [handshakeRequest('/ws', 'Origin: https://evil.example\r\n'), 403],
    ];
    for (const [req, status] of attempts) {
      const c = await rawClient(cleanup, l);
      c.write(req);
      await c.waitClose();
      expect((await responses(c, 1))[0]?.status).toBe(status);
    }
    const ok = await connect(`${url}/ws`, undefined, { origin: 'https://good.example' });
    ok.send('in');
    expect((await nextMessage(ok)).data.toString()).toBe('in');
  });

  it('1002 for an unmasked client frame (raw socket); frames pipelined with the handshake are read', async () => {
    const { l, h } = await server();
    const c = await rawClient(cleanup, l);
    c.write(Buffer.concat([Buffer.from(handshakeRequest()), clientFrame(Opcode.TEXT, 'right away')]));
    await c.waitUntil((b) => b.includes('right away'));
    const head = c.received.toString('latin1', 0, c.received.indexOf('\r\n\r\n'));
    expect(head).toContain('HTTP/1.1 101 Switching Protocols');
    expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    c.write(clientFrame(Opcode.TEXT, 'naked', { mask: false }));
    await c.waitClose();
    const frames = serverFrames(c.received.subarray(c.received.indexOf('\r\n\r\n') + 4));
    const close = frames.find(([op]) => op === Opcode.CLOSE);
    expect(close?.[1].readUInt16BE(0)).toBe(1002);
    expect(h.bad[0]?.code).toBe(websocket.WebSocketErrorCodes.PROTOCOL_ERROR);
    expect(l.getStats().badPackets).toBe(1);
  });

  it('wss:// through a tls:// listener', async () => {
    const { key, cert } = selfSignedCert();
    const { l } = await server({}, {}, { listen: 'tls://127.0.0.1:0', tls: { key, cert } });
    const ws = await connect(`wss://127.0.0.1:${l.port}/`, undefined, { ca: cert });
    ws.send('secure');
    expect((await nextMessage(ws)).data.toString()).toBe('secure');
  });

  it('same port as HTTP: pages from documentRoot, WebSocket on upgrade; without documentRoot plain requests get 426', async () => {
    const dir = tmpDir('beyod-ws-');
    cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'public'));
    fs.writeFileSync(path.join(dir, 'public', 'index.html'), '<p>chat</p>');
    const { l, url } = await server({ documentRoot: 'public' }, {}, { basePath: dir });
    const page = await fetch(`http://127.0.0.1:${l.port}/`);
    expect(await page.text()).toBe('<p>chat</p>');
    const ws = await connect(url);
    ws.send('same port');
    expect((await nextMessage(ws)).data.toString()).toBe('same port');

    const { l: wsOnly } = await server();
    expect((await fetch(`http://127.0.0.1:${wsOnly.port}/`)).status).toBe(426);
  });
});

describe('permessage-deflate with the ws client', () => {
  /** Mixed messages: short (sent as they are), long, text, binary, repetitive and random. */
  function messages(): Array<string | Buffer> {
    const out: Array<string | Buffer> = [];
    for (let i = 0; i < 60; i++) {
      if (i % 4 === 0) out.push(`short ${i}`);
      else if (i % 4 === 1) out.push(JSON.stringify({ i, user: 'alice', text: 'hello everybody, hello again '.repeat(i) }));
      else if (i % 4 === 2) out.push(Buffer.alloc(2000 + i * 100, i));
      else out.push(Buffer.from(Array.from({ length: 3000 }, (_, k) => (k * 7919 + i) & 0xff)));
    }
    out.push('x'.repeat(600_000));
    return out;
  }

  async function roundTrip(serverOptions: object, clientOptions: object): Promise<{ extensions: string }> {
    const { url, h } = await server({}, { perMessageDeflate: serverOptions });
    const ws = await connect(url, undefined, { perMessageDeflate: clientOptions });
    const sent = messages();
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
    for (const m of sent) ws.send(m);
    await until(() => got.length === sent.length, 10000, 'every echo');
    got.forEach((g, i) => {
      const m = sent[i] as string | Buffer;
      expect(g.binary).toBe(Buffer.isBuffer(m));
      expect(g.data.equals(Buffer.from(m))).toBe(true);
    });
    expect(h.bad).toEqual([]);
    return { extensions: agreed.get(ws) ?? '' };
  }

  it('defaults: messages echoed intact and in order, compressed both ways', async () => {
    const { extensions } = await roundTrip({}, { threshold: 0 });
    expect(extensions).toBe('permessage-deflate; server_no_context_takeover');
  });

  it('context takeover on both sides', async () => {
    const { extensions } = await roundTrip({ serverNoContextTakeover: false }, { threshold: 0 });
    expect(extensions).toBe('permessage-deflate');
  });

  it('small windows asked by the client and by the server', async () => {
    const a = await roundTrip({ serverNoContextTakeover: false }, { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 10 });
    expect(a.extensions).toBe('permessage-deflate; server_max_window_bits=9; client_max_window_bits=10');
    const b = await roundTrip(
      { serverNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 8, threshold: 0 },
      { threshold: 0 },
    );
    expect(b.extensions).toBe('permessage-deflate; server_max_window_bits=10; client_max_window_bits=8');
  });

  it('a client without compression is served uncompressed by a server that offers it', async () => {
    const { url } = await server({}, { perMessageDeflate: true });
    const ws = await connect(url, undefined, { perMessageDeflate: false });
    expect(agreed.get(ws)).toBe('');
    ws.send('x'.repeat(5000));
    expect((await nextMessage(ws)).data.toString()).toBe('x'.repeat(5000));
  });

  it('broadcast reaches clients with and without compression and context takeover', async () => {
    const { url } = await server({}, { perMessageDeflate: { serverNoContextTakeover: false } });
    const plain = await connect(url, undefined, { perMessageDeflate: false });
    const withTakeover = await connect(url);
    const without = await connect(url, undefined, { perMessageDeflate: { serverNoContextTakeover: true } });
    expect([agreed.get(withTakeover), agreed.get(without)]).toEqual([
      'permessage-deflate',
      'permessage-deflate; server_no_context_takeover',
    ]);
    for (let round = 0; round < 3; round++) {
      const all = [plain, withTakeover, without].map((c) => nextMessage(c));
      plain.send(`broadcast ${'long enough to be compressed '.repeat(50)}`);
      for (const m of await Promise.all(all))
        expect(m.data.toString()).toMatch(new RegExp(`^all from \\d+ (long enough to be compressed ){50}$`));
    }
  });
});

describe('websocket: handler methods defined as class fields', () => {
  it('onMessage and onClose fields get messages and the close code; pings are still answered by the protocol', async () => {
    const closes: number[] = [];
    class Fields extends websocket.Handler {
      override onMessage = (e: websocket.WebSocketMessageEvent): void => void e.sender.send(`field ${String(e.message)}`);
      override onClose = (e: websocket.WebSocketCloseEvent): void => void closes.push(e.code);
    }
    const l = await startHttp(cleanup, Fields, {}, websocket.Parser);
    const ws = await connect(`ws://127.0.0.1:${l.port}`);
    ws.send('hi');
    expect((await nextMessage(ws)).data.toString()).toBe('field hi');
    ws.ping('p');
    await once(ws, 'pong', { signal: AbortSignal.timeout(3000) });
    const done = closed(ws);
    ws.close(4000);
    await done;
    await until(() => closes.length === 1);
    expect(closes).toEqual([4000]);
  });
});

describe('websocket: the worker going away', () => {
  it('sends 1001 to every client when its worker stops, even with an onShutdown of the application that calls no super', async () => {
    const told: string[] = [];
    class App extends websocket.Handler {
      override onShutdown = (e: ShutdownEvent): void => void told.push(e.reason);
    }
    const app = new Application({
      components: { server: { listeners: { ws: { listen: 'tcp://127.0.0.1:0', parser: websocket.Parser, handler: App } } } },
    });
    await app.server.startWorker(1);
    cleanup.defer(() => app.server.stopWorker(0));
    const port = app.server.getListener('ws')?.port ?? 0;
    const clients = [await connect(`ws://127.0.0.1:${port}`), await connect(`ws://127.0.0.1:${port}`)];
    const done = clients.map((c) => closed(c));
    const stopped = app.server.stopWorker(5, 'reload');
    expect(await Promise.all(done)).toEqual([
      { code: 1001, reason: 'going away: reload' },
      { code: 1001, reason: 'going away: reload' },
    ]);
    await stopped;
    expect(told).toEqual(['reload', 'reload']);
  });
});
