/* redis.Cluster against a real 3-master, 3-replica Redis Cluster on loopback. */
import type { MessageEvent } from '@beyod/core';
import { redis } from '@beyod/protocols';
import { Cleanup, until } from 'test-helpers';
import { RedisCluster, ask, describeWithRedisCluster } from './redisCluster';
import { freePort } from './redisServer';

const { RedisErrorCodes } = redis;

describe('redis.Cluster without a cluster', () => {
  it('refuses no seeds, and mixed schemes', () => {
    expect(() => new redis.Cluster({ seeds: [] })).toThrow(expect.objectContaining({ code: RedisErrorCodes.BAD_ARGUMENT }));
    expect(() => new redis.Cluster({ seeds: ['tcp://127.0.0.1:1', 'tls://127.0.0.1:2'] })).toThrow(/must all be tcp/);
  });

  it('fails connect() with CLUSTER_UNAVAILABLE when no seed answers', async () => {
    const c = new redis.Cluster({ seeds: [`127.0.0.1:${await freePort()}`], connectTimeout: 2 });
    await expect(c.connect()).rejects.toMatchObject({ code: RedisErrorCodes.CLUSTER_UNAVAILABLE });
    await expect(c.call('GET', 'k')).rejects.toMatchObject({ code: 'BEYOD_NOT_CONNECTED' });
    await expect(c.ssubscribe('ch')).rejects.toMatchObject({ code: 'BEYOD_NOT_CONNECTED' });
    await c.close();
  });
});

describeWithRedisCluster('redis.Cluster on a 3-master cluster', () => {
  let cluster: RedisCluster;
  const cleanup = new Cleanup();

  beforeAll(async () => {
    cluster = await RedisCluster.start({ masters: 3, replicas: 1, nodeTimeout: 1000 });
  }, 60000);
  afterAll(() => cluster?.dispose());
  afterEach(() => cleanup.run());

  async function client(options: Partial<redis.RedisClusterOptions> = {}): Promise<redis.Cluster> {
    const c = cleanup.add(new redis.Cluster({ seeds: [cluster.seeds[0]!], refreshInterval: 0, ...options }), (x) => x.close());
    await c.connect();
    return c;
  }

  /** A key (with prefix `p`) whose slot is served by each master in turn. */
  async function keysOnEveryMaster(c: redis.Cluster, p: string): Promise<string[]> {
    const out = new Map<string, string>();
    for (let i = 0; out.size < c.masterNodes.length; i++) {
      const k = `${p}${i}`;
      const m = c.masterOf(redis.hashSlot(k))!;
      if (!out.has(m)) out.set(m, k);
    }
    return [...out.values()];
  }

  it('discovers every master from one seed and routes each key to its slot, as CLUSTER KEYSLOT says', async () => {
    const c = await client();
    expect(c.masterNodes).toHaveLength(3);
    for (const k of ['foo', '{user1}:a', 'é', '12345', 'x{}{y}']) {
      expect(await c.call('CLUSTER', 'KEYSLOT', k)).toBe(redis.hashSlot(k));
    }
    const keys = Array.from({ length: 300 }, (_, i) => `route:${i}`);
    expect(await Promise.all(keys.map((k) => c.call('SET', k, k)))).toEqual(Array(300).fill('OK'));
    expect(await Promise.all(keys.map((k) => c.call('GET', k)))).toEqual(keys);
    const sizes = await Promise.all(c.masterNodes.map((m) => c.callNode<number>(m, 'DBSIZE')));
    expect(sizes.every((n) => n > 0)).toBe(true);
    // keys with one {tag} share a slot, so a script may use them together
    const script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return 2";
    expect(await c.call('EVAL', script, 2, '{t}:a', '{t}:b', 'v')).toBe(2);
    await expect(c.call('EVAL', script, 2, 'a:{1}', 'b:{2}', 'v')).rejects.toMatchObject({ prefix: 'CROSSSLOT' });
  });

  it('refuses commands it cannot route, and a wrong command fails alone', async () => {
    const c = await client();
    await expect(c.call('SUBSCRIBE', 'x')).rejects.toMatchObject({ code: RedisErrorCodes.BAD_ARGUMENT });
    await expect(c.call('MULTI')).rejects.toMatchObject({ code: RedisErrorCodes.BAD_ARGUMENT });
    await expect(c.call('NOSUCHCOMMAND', 'k')).rejects.toMatchObject({ code: RedisErrorCodes.REPLY });
    expect(await c.call('PING')).toBe('PONG');
  });

  it('delivers sharded pub/sub (SSUBSCRIBE / SPUBLISH) on every master', async () => {
    const sub = await client();
    const pub = await client({ seeds: [cluster.seeds[1]!] });
    const got: redis.PubSubMessage[] = [];
    sub.on('message', (e: MessageEvent<redis.PubSubMessage>) => got.push(e.message));
    const channels = await keysOnEveryMaster(sub, 'ch:');
    expect(await sub.ssubscribe(...channels)).toBe(3);
    for (const ch of channels) expect(await pub.spublish(ch, `to ${ch}`)).toBe(1);
    await until(() => got.length === 3, 3000, 'three deliveries');
    expect(got.map((m) => [m.kind, m.channel, m.message]).sort()).toEqual(channels.map((ch) => ['smessage', ch, `to ${ch}`]).sort());
    expect(await sub.sunsubscribe(channels[0]!)).toBe(2);
    expect(await pub.spublish(channels[0]!, 'nobody')).toBe(0);
    expect(await pub.spublish(channels[1]!, 'still')).toBe(1);
  });

  it('runs blocking commands on connections of their own, without holding up the others', async () => {
    const c = await client();
    const popped = c.callBlocking<redis.RespValue[]>('BZPOPMIN', 'bq:{1}', 5);
    const popped2 = c.callBlocking<redis.RespValue[]>('BZPOPMIN', 'bq:{2}', 5);
    expect(await c.call('PING')).toBe('PONG');
    await c.call('ZADD', 'bq:{2}', 1, 'two');
    await c.call('ZADD', 'bq:{1}', 1, 'one');
    expect(await popped).toEqual(['bq:{1}', 'one', '1']);
    expect(await popped2).toEqual(['bq:{2}', 'two', '1']);
    expect(await c.callBlocking('BZPOPMIN', 'bq:{1}', 0.05)).toBeNull();
  });

  it('follows ASK while a slot migrates, then MOVED (and reads the new map) once it has moved', async () => {
    const c = await client();
    const key = 'mig:{m}:a';
    const slot = redis.hashSlot(key);
    await c.call('SET', key, 'before');
    const from = await cluster.masterOf(slot);
    const map = await cluster.slotMap();
    const toAddr = [...new Set(map.masters)].find((m) => m !== `127.0.0.1:${from.port}`)!;
    const to = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === toAddr)!;
    const id = async (port: number) => String(await ask(port, 'CLUSTER', 'MYID'));
    const fromId = await id(from.port);
    const toId = await id(to.port);
    await ask(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
    await ask(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
    // a key absent from the migrating node goes to the importing one: ASK
    expect(await c.call('SET', 'mig:{m}:new', 'asked')).toBe('OK');
    expect(await ask(to.port, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe(1);
    expect(c.masterOf(slot)).toBe(`127.0.0.1:${from.port}`);
    // finish the migration: move the keys, then give the slot to `to` everywhere
    await ask(from.port, 'MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', key);
    for (const n of cluster.alive) await ask(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId).catch(() => undefined);
    expect(await c.call('GET', key)).toBe('before');
    expect(await c.call('GET', 'mig:{m}:new')).toBe('asked');
    await until(() => c.masterOf(slot) === toAddr, 3000, 'the new slot map read after MOVED');
  });

  it('after kill -9 of a master, waits for its replica, then serves its slots and its shard channels again', async () => {
    const sub = await client({ seeds: cluster.seeds });
    const pub = await client({ seeds: cluster.seeds });
    const got: string[] = [];
    sub.on('message', (e: MessageEvent<redis.PubSubMessage>) => got.push(String(e.message.message)));
    const channel = 'fo:chan';
    const slot = redis.hashSlot(channel);
    await sub.ssubscribe(channel);
    await pub.call('SET', channel, 'kept on the replica');
    expect(await pub.spublish(channel, 'before')).toBe(1);
    await until(() => got.includes('before'), 3000, 'delivery before the failover');
    const master = await cluster.masterOf(slot);
    await until(async () => (await ask<number>(master.port, 'WAIT', '1', '1000')) >= 1, 5000, 'the write replicated');

    await master.stop(); // kill -9
    // A client that reads the map now still sees the dead master: its command waits for the
    // promotion, then runs. (A command already written to the dying connection would fail
    // with CONNECTION_LOST instead: it may have run, so it is not sent again.)
    const late = await client({ seeds: cluster.alive.map((n) => n.url) });
    const during = late.call('GET', channel);
    await cluster.killMaster(master);
    expect(await during).toBe('kept on the replica');
    expect(late.masterOf(slot)).not.toBe(`127.0.0.1:${master.port}`);
    // the subscriber moved its SSUBSCRIBE to the new master: publishing reaches it again
    await until(
      async () => {
        await pub.spublish(channel, 'after');
        return got.includes('after');
      },
      10000,
      'a delivery after the failover',
    );
  }, 40000);
});
