/* The Redis backend of the dispatcher Client API: what only Redis has (prefixes, foreign publishers, AUTH, a paused server). */
import { type CreateClientOptions, type Delivery, DispatcherErrorCodes as E, createClient } from '@beyod/dispatcher';
import { redis } from '@beyod/protocols';
import { Cleanup, until } from 'test-helpers';
import { RedisServer, describeWithRedis } from '../../protocols/test/redisServer';

describeWithRedis('dispatcher Client API over Redis', () => {
  let server: RedisServer;
  const cleanup = new Cleanup();
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(() => server?.dispose());
  afterEach(() => cleanup.run());

  function client(options: Partial<CreateClientOptions> = {}) {
    const c = createClient({ target: `redis://127.0.0.1:${server.port}`, reconnectInterval: 0.1, ...options });
    c.on('error', () => {});
    cleanup.add(c, (x) => x.close());
    return c;
  }

  async function raw(): Promise<redis.Client> {
    const r = cleanup.add(new redis.Client({ target: server.url }), (x) => x.close());
    await r.connect();
    return r;
  }

  it('two applications share one Redis through their prefixes: channels and keys apart', async () => {
    const chatA = client({ prefix: 'chat', defaultChannel: 1 });
    const gameA = client({ target: `redis://127.0.0.1:${server.port}?prefix=game`, defaultChannel: 1 });
    const gotChat: Delivery[] = [];
    const gotGame: Delivery[] = [];
    chatA.on('message', (e) => gotChat.push(e.message));
    gameA.on('message', (e) => gotGame.push(e.message));
    await Promise.all([chatA.connect(), gameA.connect()]);
    expect((await chatA.publish(1, 'to chat')).published).toBe(1);
    await chatA.set('k', 'chat value');
    await gameA.set('k', 'game value');
    await until(() => gotChat.length === 1, 3000, 'the chat delivery');
    expect(gotGame).toEqual([]);
    expect((await chatA.get('k')).value).toBe('chat value');
    expect((await gameA.get('k')).value).toBe('game value');
    const r = await raw();
    expect((await r.keys('*:h:k')).sort()).toEqual(['chat:h:k', 'game:h:k']);
  });

  it('a message published by another Redis client arrives with its text as value', async () => {
    const c = client({ prefix: 'ext', defaultChannel: 'news' });
    const got: Delivery[] = [];
    c.on('message', (e) => got.push(e.message));
    await c.connect();
    expect(await (await raw()).publish('ext:c:news', 'plain text')).toBe(1);
    await until(() => got.length === 1, 3000, 'the delivery');
    expect(got[0]).toEqual({ command: 'message', key: 'news', value: 'plain text', source: '' });
  });

  it('a client holds one connection for commands and subscriptions (RESP3), plus one per blocked qpop', async () => {
    const r = await raw();
    const count = async () => Number(/connected_clients:(\d+)/.exec(await r.info('clients'))?.[1]);
    const before = await count();
    const c = client({ defaultChannel: 9 });
    await c.connect();
    await c.set('x', 1);
    expect(await count()).toBe(before + 1);
    const pop = c.qpop('wait-here', { block: true, timeout: 5 });
    await until(async () => (await count()) === before + 2, 3000, 'the blocking connection');
    await c.qpush('wait-here', 'item');
    expect((await pop).value).toBe('item');
  });

  it('queueSize bounds a queue (EXCEED_LIMIT, limit queueSize); the prefix may not hold braces', async () => {
    const c = client({ queueSize: 2 });
    await c.connect();
    await c.qpush('small', 1);
    await c.qpush('small', 2);
    await expect(c.qpush('small', 3)).rejects.toMatchObject({ code: E.EXCEED_LIMIT, wireCode: 740, response: { limit: 'queueSize' } });
    expect((await c.qcount('small')).value).toBe(2);
    expect(() => createClient({ target: `redis://127.0.0.1:${server.port}`, prefix: 'a{b}' })).toThrow(
      expect.objectContaining({ code: E.INVALID_ARGUMENT }),
    );
  });

  it('the broadcast channel goes with the last channel: an unsubscribed client gets no broadcast', async () => {
    const a = client({ defaultChannel: 'only' });
    const b = client();
    const got: Delivery[] = [];
    a.on('broadcast', (e) => got.push(e.message));
    await Promise.all([a.connect(), b.connect()]);
    expect((await b.broadcast('one')).published).toBe(1);
    await until(() => got.length === 1, 3000, 'the broadcast');
    await a.unsubscribe('only');
    expect((await b.broadcast('two')).published).toBe(0);
  });

  it('requests to a server that does not answer fail with TIMEOUT after requestTimeout', async () => {
    const c = client({ requestTimeout: 0.3 });
    await c.connect();
    process.kill(server.pid!, 'SIGSTOP');
    try {
      await expect(c.get('k')).rejects.toMatchObject({ code: E.TIMEOUT });
    } finally {
      process.kill(server.pid!, 'SIGCONT');
    }
    await until(async () => (await c.get('k').catch(() => undefined)) !== undefined, 3000, 'answers again');
  });

  it('a blocked qpop fails with DISCONNECTED when Redis goes away, and with CLIENT_CLOSED on close()', async () => {
    const c = client();
    await c.connect();
    const lost = c.qpop('bq', { block: true, timeout: 0 });
    const r = await raw();
    await until(async () => /blocked_clients:1/.test(await r.info('clients')), 3000, 'blocked');
    // the expectation is attached before the rejection can happen (no unhandled rejection)
    const lostFails = expect(lost).rejects.toMatchObject({ code: E.DISCONNECTED });
    await server.restart();
    await lostFails;
    await until(() => c.connected, 3000, 'reconnected');
    const closing = c.qpop('bq', { block: true, timeout: 0 });
    const r2 = await raw();
    await until(async () => /blocked_clients:1/.test(await r2.info('clients')), 3000, 'blocked again');
    const closingFails = expect(closing).rejects.toMatchObject({ code: E.CLIENT_CLOSED });
    await c.close();
    await closingFails;
    await expect(c.get('k')).rejects.toMatchObject({ code: E.NOT_CONNECTED });
  });
});

describeWithRedis('dispatcher Client API over a Redis with a password', () => {
  let server: RedisServer;
  const cleanup = new Cleanup();
  beforeAll(async () => {
    server = await RedisServer.start(['--requirepass', 's3cret']);
  });
  afterAll(() => server?.dispose());
  afterEach(() => cleanup.run());

  it('takes the password from the URL or the token option; a wrong one fails connect() with AUTH_FAILED', async () => {
    const inUrl = cleanup.add(createClient({ target: `redis://:s3cret@127.0.0.1:${server.port}` }), (c) => c.close());
    await inUrl.connect();
    expect((await inUrl.set('k', 1)).code).toBe(0);
    const asToken = cleanup.add(createClient({ target: `redis://127.0.0.1:${server.port}`, token: 's3cret' }), (c) => c.close());
    await asToken.connect();
    expect((await asToken.get('k')).value).toBe(1);
    const wrong = cleanup.add(createClient({ target: `redis://:nope@127.0.0.1:${server.port}` }), (c) => c.close());
    await expect(wrong.connect()).rejects.toMatchObject({ code: E.AUTH_FAILED });
  });
});
