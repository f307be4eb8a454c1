import { Handler as BaseHandler, Listener, type MessageEvent } from '@beyod/core';
import { Client, type ClientOptions, type Delivery, DispatcherError, DispatcherErrorCodes as E } from '@beyod/dispatcher';
import { frame as framing } from '@beyod/protocols';
import pino from 'pino';
import { Cleanup, until, waitFor } from 'test-helpers';
import { startDispatcher } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function client(port: number, options: Partial<ClientOptions> = {}): Client {
  const c = new Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0.1, ...options });
  c.on('error', () => {}); // refused reconnects while a dispatcher restarts
  cleanup.add(c, (x) => x.close());
  return c;
}

/** Collects what a client receives on 'message' and 'broadcast'. */
function inbox(c: Client): Delivery[] {
  const got: Delivery[] = [];
  c.on('message', (e) => got.push(e.message));
  c.on('broadcast', (e) => got.push(e.message));
  return got;
}

async function rejection(p: Promise<unknown>): Promise<DispatcherError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DispatcherError);
    return e as DispatcherError;
  }
  throw new Error('expected a rejection');
}

describe('dispatcher Client: requests', () => {
  it('every method resolves with the response matched by seq', async () => {
    const { port } = await startDispatcher(cleanup);
    const c = client(port);
    await c.connect();
    expect(await c.set('k', { n: 1 })).toMatchObject({ command: 'set', key: 'k', code: 0, message: 'ok' });
    expect((await c.get('k')).value).toEqual({ n: 1 });
    expect((await c.count()).value).toBe(1);
    expect((await c.delete('k')).value).toBe(1);
    await c.set('a', 1, Date.now() / 1000 + 3600);
    expect((await c.deleteAll()).value).toBe(1);
    expect((await c.qpush('q', 'lo')).value).toBe(1);
    expect((await c.qpush('q', 'hi', 9)).value).toBe(2);
    expect((await c.qcount('q')).value).toBe(2);
    expect(await c.qpop('q')).toMatchObject({ value: 'hi', priority: 9 });
    expect((await c.qdelete('q')).value).toBe(1);
    await c.qpush('r', 1);
    expect((await c.qdeleteAll()).value).toBe(1);
    expect(await c.subscribe(['a', 2])).toMatchObject({ key: ['a', 2], count: 2 });
    expect(await c.unsubscribe('a')).toMatchObject({ key: ['a'], count: 1 });
    expect((await c.channels()).value).toEqual({ 2: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)] });
    expect((await c.publish(2, 'x')).published).toBe(1);
    expect((await c.broadcast('y', true)).published).toBe(1);
    expect((await c.auth('any')).code).toBe(0);
    expect((await c.stats()).value).toMatchObject({ clients: 1 });
    // answers to pipelined requests find their callers
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => c.set(`p${i}`, i).then(() => c.get(`p${i}`))));
    expect(many.map((r) => r.value)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('an error response rejects with a DispatcherError: code names it, wireCode is the number', async () => {
    const { port } = await startDispatcher(cleanup, { handler: { queueSize: 1 } });
    const c = client(port);
    await c.connect();
    const e1 = await rejection(c.request({ command: 'flushall' }));
    expect(e1).toMatchObject({ code: E.UNKNOWN_COMMAND, wireCode: 720 });
    await c.qpush('q', 1);
    const e2 = await rejection(c.qpush('q', 2));
    expect(e2).toMatchObject({ code: E.EXCEED_LIMIT, wireCode: 740, response: expect.objectContaining({ limit: 'queueSize' }) });
    expect(e2.message).toMatch(/qpush failed: .*full.*740/);
    const e3 = await rejection(c.request({ command: 'set', key: 'k', value: 1, expire: 'soon' }));
    expect(e3.code).toBe(E.DATA_ERROR);
    expect(() => c.subscribe({} as never)).toThrow(DispatcherError);
  });

  it('qpop with block waits for a push; with a timeout resolves value null', async () => {
    const { port } = await startDispatcher(cleanup);
    const [a, b] = [client(port), client(port)];
    await Promise.all([a.connect(), b.connect()]);
    const waiting = a.qpop('jobs', { block: true });
    const timed = a.qpop('other', { block: true, timeout: 0.2 });
    expect((await timed).value).toBeNull();
    await b.qpush('jobs', 'job-1');
    expect((await waiting).value).toBe('job-1');
  });
});

describe('dispatcher Client: deliveries', () => {
  it("'message' gets the packet as it came off the wire; 'broadcast' gets broadcasts", async () => {
    const { port, listener } = await startDispatcher(cleanup);
    const [sub, pub] = [client(port, { defaultChannel: 65537 }), client(port)];
    const events: Array<MessageEvent<Delivery, Client>> = [];
    sub.on('message', (e) => events.push(e));
    const got = inbox(sub);
    await sub.connect();
    const subConn = [...listener.connections.values()][0];
    await pub.connect();
    const source = [...listener.connections.values()].find((x) => x !== subConn)?.peer;
    expect((await pub.publish(65537, { text: 'hi' })).published).toBe(1);
    await pub.broadcast('everyone');
    await until(() => got.length === 2);
    expect(got).toEqual([
      { command: 'message', key: 65537, value: { text: 'hi' }, source },
      { command: 'broadcast', value: 'everyone', source },
    ]);
    expect(events[0]?.sender).toBe(sub);
    expect(events[0]?.message.value).toEqual({ text: 'hi' });
  });

  it('connect() resolves once defaultChannel is subscribed', async () => {
    const { port } = await startDispatcher(cleanup);
    const pub = client(port);
    await pub.connect();
    for (let i = 0; i < 5; i++) {
      const sub = client(port, { defaultChannel: [`gpid-${i}`, i] });
      await sub.connect();
      expect((await pub.publish([`gpid-${i}`, i], 'x')).published).toBe(2);
    }
  });

  it("ordering: each publisher's messages arrive in publish order, and every subscriber sees the same order", async () => {
    const { port } = await startDispatcher(cleanup);
    const subs = [client(port, { defaultChannel: 'ch' }), client(port, { defaultChannel: 'ch' }), client(port, { defaultChannel: 'ch' })];
    const boxes = subs.map(inbox);
    const pubs = [client(port), client(port)];
    await Promise.all([...subs, ...pubs].map((c) => c.connect()));
    const N = 300;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < N; i++) for (const [p, pub] of pubs.entries()) sends.push(pub.publish('ch', { p, i }));
    await Promise.all(sends);
    await until(() => boxes.every((b) => b.length === 2 * N), 5000, 'all delivered');
    const seqs = boxes.map((b) => b.map((m) => JSON.stringify(m.value)));
    expect(seqs[1]).toEqual(seqs[0]);
    expect(seqs[2]).toEqual(seqs[0]);
    for (const p of [0, 1]) {
      const mine = (boxes[0] as Delivery[]).map((m) => m.value as { p: number; i: number }).filter((v) => v.p === p);
      expect(mine.map((v) => v.i)).toEqual(Array.from({ length: N }, (_, i) => i));
    }
  });
});

describe('dispatcher Client: connection loss', () => {
  it('after the dispatcher restarts, it reconnects and re-subscribes defaultChannel and every channel it had', async () => {
    const first = await startDispatcher(cleanup);
    const port = first.port;
    const sub = client(port, { defaultChannel: 131073 });
    const got = inbox(sub);
    await sub.connect();
    await sub.subscribe(['news', 'sport']);
    await sub.unsubscribe('sport');
    const closed = waitFor(sub, 'close');
    await first.listener.stop(0);
    await closed;
    const reconnected = waitFor(sub, 'connect', 5000);
    const second = await startDispatcher(cleanup, { port });
    await reconnected;
    const pub = client(port);
    await pub.connect();
    await until(async () => (await pub.publish([131073, 'news', 'sport'], 'after restart')).published === 2, 3000, 'resubscribed');
    await until(() => got.length >= 2);
    expect(got.map((m) => m.key).sort()).toEqual([131073, 'news']);
    expect(second.handler.getStats().subscribers).toBe(1);
  });

  it('a subscriber misses what is published while it is disconnected, and gets what follows its reconnect', async () => {
    const { port, listener } = await startDispatcher(cleanup);
    const sub = client(port, { defaultChannel: 'ch', reconnectInterval: 0.3 });
    const got = inbox(sub);
    const pub = client(port);
    await sub.connect();
    const subConn = [...listener.connections.values()][0];
    await pub.connect();
    await pub.publish('ch', 'before');
    await until(() => got.length === 1);
    const closed = waitFor(sub, 'close');
    subConn?.destroy();
    await closed;
    expect((await pub.publish('ch', 'while away')).published).toBe(0);
    await waitFor(sub, 'connect', 3000);
    await until(async () => (await pub.publish('ch', 'after')).published === 1, 3000, 'resubscribed');
    await until(() => got.some((m) => m.value === 'after'));
    expect(got.map((m) => m.value)).not.toContain('while away');
    expect(got[0]?.value).toBe('before');
  });

  it('a blocked qpop fails with DISCONNECTED when the dispatcher stops; queues do not survive a restart', async () => {
    const first = await startDispatcher(cleanup);
    const c = client(first.port);
    await c.connect();
    await c.qpush('kept?', 'item');
    const blocked = c.qpop('empty', { block: true });
    await until(() => first.handler.getStats().blocked === 1);
    await first.listener.stop(0);
    const e = await rejection(blocked);
    expect(e.code).toBe(E.DISCONNECTED);
    await startDispatcher(cleanup, { port: first.port });
    await until(() => c.connected, 3000, 'reconnected');
    expect((await c.qcount('kept?')).value).toBe(0);
  });

  it('requests made while disconnected wait for the connection, and are sent after the re-subscription', async () => {
    const first = await startDispatcher(cleanup);
    const port = first.port;
    const c = client(port, { defaultChannel: 'mine' });
    await c.connect();
    await first.listener.stop(0);
    await until(() => !c.connected);
    const waiting = c.publish('mine', 'queued while down');
    const got = inbox(c);
    await startDispatcher(cleanup, { port });
    expect((await waiting).published).toBe(1);
    await until(() => got.length === 1);
    expect(got[0]?.value).toBe('queued while down');
  });

  it('requests waiting for a connection fail after requestTimeout; past maxQueuedRequests they fail at once', async () => {
    const { port, listener } = await startDispatcher(cleanup);
    const c = client(port, { requestTimeout: 0.2, maxQueuedRequests: 2, reconnectInterval: 60 });
    await c.connect();
    await listener.stop(0);
    await until(() => !c.connected);
    const a = c.get('a');
    const b = c.get('b');
    const third = await rejection(c.get('c'));
    expect(third.code).toBe(E.NOT_CONNECTED);
    expect((await rejection(a)).code).toBe(E.TIMEOUT);
    expect((await rejection(b)).message).toMatch(/no connection within the request timeout/);
  });

  it('a request nobody answers fails with TIMEOUT after requestTimeout', async () => {
    // a frame-speaking server that never answers
    const silent = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', handler: BaseHandler, parser: framing.Parser });
    await silent.start();
    cleanup.add(silent, (l) => l.stop(0));
    const c = client(silent.port, { requestTimeout: 0.2 });
    await c.connect();
    const started = performance.now();
    const e = await rejection(c.get('k'));
    expect(e.code).toBe(E.TIMEOUT);
    expect(e.message).toMatch(/no answer/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('before connect() and after close() requests fail with NOT_CONNECTED; close() fails pending ones with CLIENT_CLOSED', async () => {
    const { port } = await startDispatcher(cleanup);
    const c = client(port);
    expect((await rejection(c.get('k'))).code).toBe(E.NOT_CONNECTED);
    await c.connect();
    const pending = rejection(c.qpop('q', { block: true }));
    await c.close();
    expect((await pending).code).toBe(E.CLIENT_CLOSED);
    expect((await rejection(c.get('k'))).code).toBe(E.NOT_CONNECTED);
  });

  it('without reconnectInterval, a lost connection fails what waits and later requests', async () => {
    const { port, listener } = await startDispatcher(cleanup);
    const c = client(port, { reconnectInterval: 0 });
    await c.connect();
    await listener.stop(0);
    await until(() => !c.connected);
    expect((await rejection(c.get('k'))).code).toBe(E.NOT_CONNECTED);
  });
});

describe('dispatcher Client: auth and server errors', () => {
  it('with token, it authenticates on every connect (restarts included)', async () => {
    const first = await startDispatcher(cleanup, { handler: { token: 'tok' } });
    const c = client(first.port, { token: 'tok', defaultChannel: 'ch' });
    await c.connect();
    expect((await c.set('k', 1)).code).toBe(0);
    await first.listener.stop(0);
    await until(() => !c.connected);
    const second = await startDispatcher(cleanup, { port: first.port, handler: { token: 'tok' } });
    await until(() => second.handler.getStats().subscribers === 1, 3000, 'authenticated and resubscribed');
    expect((await c.get('k')).value).toBeNull();
  });

  it('a wrong token rejects connect() with AUTH_FAILED and stops the client', async () => {
    const { port } = await startDispatcher(cleanup, { handler: { token: 'tok' } });
    const c = client(port, { token: 'nope' });
    const e = await rejection(c.connect());
    expect(e).toMatchObject({ code: E.AUTH_FAILED, wireCode: 781 });
    await until(() => !c.connected);
    expect((await rejection(c.get('k'))).code).toBe(E.NOT_CONNECTED);
  });

  it("an error nobody asked for (maxClients) is emitted as 'error'", async () => {
    const { port } = await startDispatcher(cleanup, { handler: { maxClients: 1 } });
    const first = client(port);
    await first.connect();
    const second = new Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0 });
    cleanup.add(second, (x) => x.close());
    const errors: Error[] = [];
    second.on('error', (e) => errors.push(e));
    await second.connect();
    await until(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ code: E.EXCEED_LIMIT, wireCode: 740 });
  });
});

describe('dispatcher Client: offline queue, refused subscriptions, outages (issue 11)', () => {
  it('requests that timed out while disconnected free their places in the offline queue', async () => {
    const { port, listener } = await startDispatcher(cleanup);
    const c = client(port, { requestTimeout: 0.2, maxQueuedRequests: 2, reconnectInterval: 60 });
    await c.connect();
    await listener.stop(0);
    await until(() => !c.connected);
    const [a, b] = [c.get('a'), c.get('b')];
    expect((await rejection(a)).code).toBe(E.TIMEOUT);
    expect((await rejection(b)).code).toBe(E.TIMEOUT);
    // both expired: the queue has room again, so these wait (and time out) instead of failing at once
    const [x, y] = [c.get('x'), c.get('y')];
    expect((await rejection(x)).code).toBe(E.TIMEOUT);
    expect((await rejection(y)).code).toBe(E.TIMEOUT);
  });

  it('a subscription the dispatcher refused is not subscribed again after a reconnect', async () => {
    const { port, listener, handler } = await startDispatcher(cleanup, { handler: { maxSubscriptions: 1 } });
    const c = client(port);
    await c.connect();
    await c.subscribe('a');
    expect((await rejection(c.subscribe('b'))).code).toBe(E.EXCEED_LIMIT);
    const closed = waitFor(c, 'close');
    const reconnected = waitFor(c, 'connect', 3000);
    [...listener.connections.values()][0]?.destroy();
    await closed;
    await reconnected;
    await until(() => handler.getStats().subscribers === 1, 3000, 're-subscribed');
    expect((await c.channels()).value).toEqual({ a: [expect.any(String)] });
  });

  it('connect() while the dispatcher is down warns once per outage, and resolves once it is up', async () => {
    const probe = await startDispatcher(cleanup);
    const port = probe.port;
    await probe.listener.stop(0);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
    const c = client(port, { reconnectInterval: 0.05, logger });
    const connected = c.connect();
    await until(() => c.attempts >= 5, 3000, 'five attempts');
    const warnings = () => lines.filter((l) => l.level === 40);
    expect(warnings()).toHaveLength(1);
    expect(String(warnings()[0]?.msg)).toMatch(new RegExp(`cannot connect to tcp://127.0.0.1:${port}.*retrying every 0.05 s`));
    const second = await startDispatcher(cleanup, { port });
    await connected;
    expect(lines.some((l) => l.level === 30 && /connected to .* after \d+ attempts/.test(String(l.msg)))).toBe(true);
    // a new outage warns again, once
    const closed = waitFor(c, 'close');
    await second.listener.stop(0);
    await closed;
    const before = c.attempts;
    await until(() => c.attempts >= before + 5, 3000, 'five more attempts');
    expect(warnings()).toHaveLength(2);
    expect(String(warnings()[1]?.msg)).toMatch(/lost the connection to .*reconnecting every 0.05 s/);
  });

  it('connect({ wait: false }) rejects at the first failure and stops; connect({ timeout }) gives up after it', async () => {
    const probe = await startDispatcher(cleanup);
    const port = probe.port;
    await probe.listener.stop(0);
    const once = client(port, { reconnectInterval: 0.05, logger: false });
    await expect(once.connect({ wait: false })).rejects.toMatchObject({ code: 'BEYOD_CONNECT_FAILED' });
    expect(once.attempts).toBe(1);
    expect((await rejection(once.get('k'))).code).toBe(E.NOT_CONNECTED);

    const timed = client(port, { reconnectInterval: 0.05, logger: false });
    const connecting = timed.connect({ timeout: 0.3 });
    const pending = timed.get('queued');
    await expect(connecting).rejects.toMatchObject({ code: 'BEYOD_CONNECT_TIMEOUT' });
    expect(timed.attempts).toBeGreaterThan(1);
    // it gave up: what waited fails, and a new request is not queued for a reconnect
    expect((await rejection(pending)).code).toBe(E.NOT_CONNECTED);
    expect((await rejection(timed.get('after'))).code).toBe(E.NOT_CONNECTED);
  });
});
