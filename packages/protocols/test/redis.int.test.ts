import { ErrorCodes, type MessageEvent } from '@beyod/core';
import { redis } from '@beyod/protocols';
import { Cleanup, until, waitFor } from 'test-helpers';
import { RedisServer, describeWithRedis } from './redisServer';

const { RedisErrorCodes, RedisReplyError } = redis;

describeWithRedis('redis.Client against redis-server', () => {
  let server: RedisServer;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(() => cleanup.run());

  async function client(options: Partial<redis.RedisClientOptions> = {}): Promise<redis.Client> {
    const c = cleanup.add(new redis.Client({ target: server.url, ...options }), (x) => x.close());
    await c.connect();
    return c;
  }

  it('runs the common commands with typed results', async () => {
    const c = await client();
    expect(await c.ping()).toBe('PONG');
    expect(await c.set('t:s', 'välue')).toBe('OK');
    expect(await c.get('t:s')).toBe('välue');
    expect(await c.get('t:missing')).toBeNull();
    expect(await c.set('t:s', 'x', { nx: true })).toBeNull();
    expect(await c.set('t:e', '1', { ex: 100 })).toBe('OK');
    expect(await c.ttl('t:e')).toBeGreaterThan(90);
    expect(await c.incr('t:n')).toBe(1);
    expect(await c.incrby('t:n', 41)).toBe(42);
    expect(await c.incrbyfloat('t:n', 0.5)).toBe(42.5);
    expect(await c.mset({ 't:a': 'A', 't:b': 'B' })).toBe('OK');
    expect(await c.mget('t:a', 't:b', 't:zz')).toEqual(['A', 'B', null]);
    expect(await c.exists('t:a', 't:b', 't:zz')).toBe(2);
    expect(await c.hset('t:h', { f1: 'v1', f2: 'v2' })).toBe(2);
    expect(await c.hgetall('t:h')).toEqual({ f1: 'v1', f2: 'v2' });
    expect(await c.hgetall('t:nohash')).toEqual({});
    expect(await c.rpush('t:l', 'a', 'b', 'c')).toBe(3);
    expect(await c.lrange('t:l', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await c.sadd('t:set', 'x', 'y')).toBe(2);
    expect((await c.smembers('t:set')).sort()).toEqual(['x', 'y']);
    expect(await c.zadd('t:z', 1, 'one', 2.5, 'two')).toBe(2);
    expect(await c.zscore('t:z', 'two')).toBe(2.5);
    expect(await c.zrangeWithScores('t:z', 0, -1)).toEqual([
      { member: 'one', score: 1 },
      { member: 'two', score: 2.5 },
    ]);
    expect(await c.del('t:a', 't:b', 't:zz')).toBe(2);
    const buf = Buffer.from([0, 1, 2, 255]);
    await c.set('t:bin', buf);
    expect(await c.call('STRLEN', 't:bin')).toBe(4);
  });

  it('rejects only the command that got an error reply; the connection carries on', async () => {
    const c = await client();
    const [a, bad, b2] = await Promise.allSettled([c.set('t:x', 'str'), c.incr('t:x'), c.get('t:x')]);
    expect(a).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(b2).toEqual({ status: 'fulfilled', value: 'str' });
    const err = (bad as PromiseRejectedResult).reason as redis.RedisReplyError;
    expect(err).toBeInstanceOf(RedisReplyError);
    expect(err.code).toBe(RedisErrorCodes.REPLY);
    expect(err.prefix).toBe('ERR');
    expect(err.data).toMatchObject({ command: 'INCR' });
    await expect(c.call('NOSUCHCOMMAND')).rejects.toThrow(/unknown command/);
    expect(await c.ping()).toBe('PONG');
  });

  it('pipelines 10,000 commands and matches the replies in order', async () => {
    const c = await client();
    await c.del('t:counter');
    const all: Array<Promise<number>> = [];
    for (let i = 0; i < 10_000; i++) all.push(c.incr('t:counter'));
    expect(c.inFlight).toBeGreaterThan(0);
    const results = await Promise.all(all);
    expect(results).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
  });

  it('round-trips a 5 MiB value and a 20,000-element list', async () => {
    const c = await client();
    const big = 'x'.repeat(5 * 1024 * 1024 - 1) + 'é';
    await c.set('t:big', big);
    expect(await c.get('t:big')).toBe(big);
    const items = Array.from({ length: 20_000 }, (_, i) => `item-${i}`);
    await c.del('t:biglist');
    for (let i = 0; i < items.length; i += 1000) await c.rpush('t:biglist', ...items.slice(i, i + 1000));
    expect(await c.lrange('t:biglist', 0, -1)).toEqual(items);
  });

  it('runs MULTI/EXEC: results, an error inside, EXECABORT, and a WATCH conflict', async () => {
    const c = await client();
    await c.del('t:m', 't:w');
    expect(await c.multi().set('t:m', '5').incr('t:m').get('t:m').exec()).toEqual(['OK', 6, '6']);
    const withError = await c.multi().set('t:m', 'str').incr('t:m').get('t:m').exec();
    expect(withError![0]).toBe('OK');
    expect(withError![1]).toBeInstanceOf(RedisReplyError);
    expect(withError![2]).toBe('str');
    await expect(c.multi().set('t:m', '1').call('SET', 't:m').exec()).rejects.toThrow(
      /EXECABORT.*First error: ERR wrong number of arguments/,
    );
    expect(await c.get('t:m')).toBe('str');
    // WATCH: another client changes the key before EXEC, so the transaction does not run.
    const other = await client();
    await c.watch('t:w');
    await other.set('t:w', 'theirs');
    expect(await c.multi().set('t:w', 'mine').exec()).toBeNull();
    expect(await c.get('t:w')).toBe('theirs');
  });

  it('delivers pub/sub messages and refuses normal commands in RESP2 subscriber mode', async () => {
    const sub = await client();
    const pub = await client();
    const got: redis.PubSubMessage[] = [];
    sub.on('message', (e: MessageEvent<redis.PubSubMessage>) => got.push(e.message));
    expect(await sub.subscribe('t:ch1', 't:ch2')).toBe(2);
    expect(await sub.psubscribe('t:news.*')).toBe(3);
    expect(sub.subscriptions).toEqual({ channels: ['t:ch1', 't:ch2'], patterns: ['t:news.*'], shardChannels: [] });
    await expect(sub.get('k')).rejects.toMatchObject({ code: RedisErrorCodes.SUBSCRIBER_MODE });
    await expect(sub.call('SET', 'k', 'v')).rejects.toThrow(/pub\/sub mode/);
    expect(await sub.ping()).toBe('PONG');
    expect(await pub.publish('t:ch1', 'hello')).toBe(1);
    expect(await pub.publish('t:news.sport', 'goal')).toBe(1);
    await until(() => got.length === 2, 2000, 'two deliveries');
    expect(got).toEqual([
      { kind: 'message', channel: 't:ch1', message: 'hello' },
      { kind: 'pmessage', pattern: 't:news.*', channel: 't:news.sport', message: 'goal' },
    ]);
    expect(await sub.unsubscribe()).toBe(1);
    expect(await sub.punsubscribe()).toBe(0);
    expect(sub.subscriber).toBe(false);
    expect(await sub.set('t:after', 'ok')).toBe('OK');
  });

  it('speaks RESP3: maps, doubles, pushes, and normal commands while subscribed', async () => {
    const c = await client({ resp: 3 });
    await c.hset('t:h3', 'a', '1');
    expect(await c.call('HGETALL', 't:h3')).toEqual(new Map([['a', '1']]));
    expect(await c.hgetall('t:h3')).toEqual({ a: '1' });
    await c.zadd('t:z3', 1.5, 'm');
    expect(await c.call('ZSCORE', 't:z3', 'm')).toBe(1.5);
    expect(await c.zrangeWithScores('t:z3', 0, -1)).toEqual([{ member: 'm', score: 1.5 }]);
    await c.sadd('t:s3', 'q');
    expect(await c.call('SMEMBERS', 't:s3')).toEqual(new Set(['q']));
    const got: string[] = [];
    c.on('message', (e: MessageEvent<redis.PubSubMessage>) => got.push(String(e.message.message)));
    expect(await c.subscribe('t:ch3')).toBe(1);
    expect(await c.get('t:none')).toBeNull();
    const pub = await client();
    await pub.publish('t:ch3', 'resp3 push');
    await until(() => got.length === 1);
    expect(got).toEqual(['resp3 push']);
  });

  it('emits other RESP3 pushes (client-side caching invalidations) as push events', async () => {
    const c = await client({ resp: 3 });
    const pushes: redis.RespValue[][] = [];
    c.on('push', (data) => pushes.push(data));
    expect(await c.call('CLIENT', 'TRACKING', 'ON')).toBe('OK');
    await c.get('t:tracked');
    const other = await client();
    await other.set('t:tracked', 'changed');
    await until(() => pushes.length === 1, 2000, 'an invalidate push');
    expect(pushes[0]).toEqual(['invalidate', ['t:tracked']]);
    expect(await c.ping()).toBe('PONG');
  });

  it('returns Buffers with returnBuffers', async () => {
    const c = await client({ returnBuffers: true });
    await c.set('t:raw', Buffer.from([0xde, 0xad]));
    expect(await c.call('GET', 't:raw')).toEqual(Buffer.from([0xde, 0xad]));
  });

  it('selects db on connect, and SELECT through the client is kept', async () => {
    const c = await client({ db: 3, name: 'beyod-test' });
    await c.set('t:db', 'three');
    const info = await c.call<string>('CLIENT', 'INFO');
    expect(info).toMatch(/ db=3 /);
    expect(info).toMatch(/ name=beyod-test /);
    const c0 = await client();
    expect(await c0.get('t:db')).toBeNull();
    await c0.select(3);
    expect(c0.db).toBe(3);
    expect(await c0.get('t:db')).toBe('three');
  });

  it('waits for in-flight replies on close(), then refuses commands', async () => {
    const c = new redis.Client({ target: server.url });
    await c.connect();
    const all = Array.from({ length: 200 }, (_, i) => c.set(`t:close${i}`, 'v'));
    await c.close();
    expect(await Promise.all(all)).toEqual(Array(200).fill('OK'));
    await expect(c.get('t:close0')).rejects.toMatchObject({ code: ErrorCodes.CLIENT_CLOSED });
  });

  it('fails a command in flight when the connection is killed, and reconnects', async () => {
    const c = await client({ reconnectInterval: 0.05 });
    const admin = await client();
    await c.call('CLIENT', 'SETNAME', 'victim');
    const blocked = c.call('BLPOP', 't:never', 0);
    await until(async () => /name=victim .*cmd=blpop/.test(await admin.call<string>('CLIENT', 'LIST')), 2000, 'BLPOP blocking');
    expect(await admin.call('CLIENT', 'KILL', 'ID', await idOf(admin, 'victim'))).toBe(1);
    await expect(blocked).rejects.toMatchObject({ code: RedisErrorCodes.CONNECTION_LOST });
    await waitFor(c, 'ready', 3000);
    expect(await c.ping()).toBe('PONG');
  });

  it('refuses commands before connect() and after a lost connection without reconnect', async () => {
    const c = cleanup.add(new redis.Client({ target: server.url, reconnectInterval: 0 }), (x) => x.close());
    await expect(c.get('k')).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
    await c.connect();
    const admin = await client();
    await c.call('CLIENT', 'SETNAME', 'once');
    const closed = waitFor(c, 'close');
    await admin.call('CLIENT', 'KILL', 'ID', await idOf(admin, 'once'));
    await closed;
    await expect(c.get('k')).rejects.toMatchObject({ code: ErrorCodes.NOT_CONNECTED });
  });
});

async function idOf(admin: redis.Client, name: string): Promise<string> {
  const list = await admin.call<string>('CLIENT', 'LIST');
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  const m = /id=(\d+)/.exec(line ?? '');
  if (!m) throw new Error(`no client named ${name} in CLIENT LIST`);
  return m[1]!;
}

describeWithRedis('redis.Client: AUTH and a redis-server that restarts', () => {
  let server: RedisServer;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    server = await RedisServer.start(['--requirepass', 's3cret']);
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(() => cleanup.run());

  it('authenticates, and a wrong password fails the connect with BEYOD_REDIS_HANDSHAKE_FAILED', async () => {
    const ok = cleanup.add(new redis.Client({ target: server.url, password: 's3cret' }), (c) => c.close());
    await ok.connect();
    expect(await ok.ping()).toBe('PONG');
    const bad = cleanup.add(new redis.Client({ target: server.url, password: 'wrong' }), (c) => c.close());
    const connecting = bad.connect();
    const queued = bad.get('k'); // queued until the handshake is done
    await expect(connecting).rejects.toMatchObject({
      code: RedisErrorCodes.HANDSHAKE_FAILED,
      message: expect.stringMatching(/WRONGPASS|invalid/),
    });
    await expect(queued).rejects.toMatchObject({ code: RedisErrorCodes.HANDSHAKE_FAILED });
    const none = cleanup.add(new redis.Client({ target: server.url }), (c) => c.close());
    await none.connect();
    await expect(none.get('k')).rejects.toMatchObject({ prefix: 'NOAUTH' });
    const r3 = cleanup.add(new redis.Client({ target: server.url, password: 's3cret', resp: 3 }), (c) => c.close());
    await r3.connect();
    expect(await r3.ping()).toBe('PONG');
  });

  it('reconnects after redis-server is killed and restarted: AUTH, SELECT and subscriptions again, queued commands sent', async () => {
    const opts = { target: server.url, password: 's3cret', db: 5, reconnectInterval: 0.05, offlineTimeout: 20 };
    const c = cleanup.add(new redis.Client(opts), (x) => x.close());
    const sub = cleanup.add(new redis.Client(opts), (x) => x.close());
    await c.connect();
    await sub.connect();
    const got: string[] = [];
    sub.on('message', (e: MessageEvent<redis.PubSubMessage>) => got.push(String(e.message.message)));
    await sub.subscribe('t:restart');
    await c.set('t:before', '1');

    const closed = waitFor(c, 'close', 5000);
    await server.stop();
    await closed;
    expect(c.ready).toBe(false);
    const queued = [c.set('t:queued', 'q'), c.get('t:queued')];
    expect(c.queued).toBe(2);
    await server.restart();

    expect(await Promise.all(queued)).toEqual(['OK', 'q']);
    expect(await c.call<string>('CLIENT', 'INFO')).toMatch(/ db=5 /);
    expect(await c.get('t:before')).toBeNull(); // a fresh server (no persistence)
    await until(() => sub.ready, 5000, 'subscriber ready again');
    await until(async () => (await c.publish('t:restart', 'after restart')) === 1, 5000, 'resubscribed');
    await until(() => got.includes('after restart'));
  });

  it('fails queued commands after offlineTimeout, and refuses past maxOfflineQueue', async () => {
    const c = cleanup.add(
      new redis.Client({ target: server.url, password: 's3cret', reconnectInterval: 0.05, offlineTimeout: 0.3, maxOfflineQueue: 2 }),
      (x) => x.close(),
    );
    await c.connect();
    const closed = waitFor(c, 'close', 5000);
    await server.stop();
    await closed;
    try {
      const a = c.get('a');
      const b = c.get('b');
      await expect(c.get('c')).rejects.toMatchObject({ code: RedisErrorCodes.QUEUE_FULL });
      await expect(a).rejects.toMatchObject({ code: RedisErrorCodes.OFFLINE_TIMEOUT });
      await expect(b).rejects.toMatchObject({ code: RedisErrorCodes.OFFLINE_TIMEOUT });
      expect(c.queued).toBe(0);
    } finally {
      await server.restart();
    }
    await waitFor(c, 'ready', 5000);
    expect(await c.ping()).toBe('PONG');
  });
});
