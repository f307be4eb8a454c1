/* Several beyod dispatchers behind one Client API: placement, a dispatcher lost and back. */
import { type Delivery, type ShardedClient, createClient } from '@beyod/dispatcher';
import { Cleanup, until } from 'test-helpers';
import { startDispatcher } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function three() {
  const shards = [await startDispatcher(cleanup), await startDispatcher(cleanup), await startDispatcher(cleanup)];
  const urls = shards.map((s) => `tcp://127.0.0.1:${s.port}`);
  const client = (options: { defaultChannel?: string | number | Array<string | number> } = {}) => {
    const c = createClient({ target: urls, reconnectInterval: 0.1, ...options }) as ShardedClient;
    c.on('error', () => {});
    cleanup.add(c, (x) => x.close());
    return c;
  };
  return { shards, urls, client };
}

describe('several beyod dispatchers (rendezvous placement)', () => {
  it('spreads channels and keys over the dispatchers; every client places them alike', async () => {
    const { shards, urls, client } = await three();
    const channels = Array.from({ length: 60 }, (_, i) => (i << 16) + 1);
    const sub = client({ defaultChannel: channels });
    const pub = client();
    const got: Delivery[] = [];
    sub.on('message', (e) => got.push(e.message));
    await Promise.all([sub.connect(), pub.connect()]);
    for (const ch of channels) expect(pub.targetOf(ch)).toBe(sub.targetOf(ch));
    for (const ch of channels) expect((await pub.publish(ch, ch)).published).toBe(1);
    await until(() => got.length === 60, 3000, '60 deliveries');
    // each dispatcher holds some of the channels (and the broadcast channel on one of them)
    const held = shards.map((s) => s.handler.getStats().channels);
    expect(held.every((n) => n > 5)).toBe(true);
    expect(held.reduce((a, b) => a + b, 0)).toBe(61);
    for (let i = 0; i < 60; i++) await pub.set(`k${i}`, i);
    expect(shards.every((s) => s.handler.getStats().keys > 5)).toBe(true);
    expect((await pub.count()).value).toBe(60);
    expect(new Set(channels.map((c) => pub.targetOf(c)))).toEqual(new Set(urls));
  });

  it('when a dispatcher goes, its channels are subscribed on the others and its keys are lost; when it is back they go home', async () => {
    const { shards, urls, client } = await three();
    const channels = Array.from({ length: 30 }, (_, i) => `ch${i}`);
    const sub = client({ defaultChannel: channels });
    const pub = client();
    const got: Delivery[] = [];
    sub.on('message', (e) => got.push(e.message));
    await Promise.all([sub.connect(), pub.connect()]);
    for (const ch of channels) await pub.set(ch, `value of ${ch}`);

    const victim = shards[1]!;
    const onVictim = channels.filter((ch) => pub.targetOf(ch) === urls[1]);
    expect(onVictim.length).toBeGreaterThan(0);
    await victim.listener.stop(0);
    await until(() => sub.liveTargets.length === 2 && pub.liveTargets.length === 2, 3000, 'both clients saw it go');
    const survivors = [shards[0]!, shards[2]!];
    await until(() => survivors.reduce((n, s) => n + s.handler.getStats().channels, 0) === 31, 3000, 'channels re-placed on the survivors');
    // every channel reaches the subscriber again, those of the lost dispatcher included
    for (const ch of channels) expect((await pub.publish(ch, `${ch} while down`)).published).toBe(1);
    await until(() => got.filter((m) => String(m.value).endsWith('while down')).length === 30, 3000, '30 deliveries');
    for (const ch of channels) {
      expect((await pub.get(ch)).value).toBe(onVictim.includes(ch) ? null : `value of ${ch}`);
    }

    // back on its port, empty: the channels move home, each delivered exactly once
    const back = await startDispatcher(cleanup, { port: victim.port });
    await until(() => sub.liveTargets.length === 3 && pub.liveTargets.length === 3, 3000, 'both clients saw it back');
    await until(() => back.handler.getStats().channels >= onVictim.length, 3000, 'channels home again');
    for (const ch of channels) expect((await pub.publish(ch, `${ch} after`)).published).toBe(1);
    await until(() => got.filter((m) => String(m.value).endsWith(' after')).length === 30, 3000, '30 deliveries');
    expect(shards[0]!.handler.getStats().channels + shards[2]!.handler.getStats().channels + back.handler.getStats().channels).toBe(31);
  });

  it('connect() resolves with one dispatcher down; its share goes to the others until it comes up', async () => {
    const { shards, urls, client } = await three();
    const down = shards[2]!;
    await down.listener.stop(0);
    const c = client({ defaultChannel: 'x' });
    await c.connect();
    expect(c.liveTargets.sort()).toEqual([urls[0], urls[1]].sort());
    for (let i = 0; i < 30; i++) expect((await c.set(`k${i}`, i)).code).toBe(0);
    expect(shards[0]!.handler.getStats().keys + shards[1]!.handler.getStats().keys).toBe(30);
    await startDispatcher(cleanup, { port: down.port });
    await until(() => c.liveTargets.length === 3, 3000, 'the third one up');
  });
});
