/*
 * One suite, four backends: the dispatcher Client API on a beyod dispatcher, on three beyod
 * dispatchers (rendezvous placement), on a redis-server, and on a 3-master Redis Cluster with
 * replicas — all real servers on loopback. Where a backend differs by design, the test asserts
 * the documented behaviour of that backend (Differences in backends.ts, docs/scaling.md).
 */
import { type Delivery, DispatcherError, type DispatcherClient, DispatcherErrorCodes as E } from '@beyod/dispatcher';
import { Cleanup, until } from 'test-helpers';
import { describeWithRedisCluster } from '../../protocols/test/redisCluster';
import { describeWithRedis } from '../../protocols/test/redisServer';
import { type BackendName, type RunningBackend, clientOf, startBackend } from './backends';

const GPID = (3 << 16) + 2; // serverId 3, worker 2

/** What a client receives, messages and broadcasts, in arrival order. */
function inbox(c: DispatcherClient): Delivery[] {
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

function conformance(name: BackendName): void {
  let backend: RunningBackend;
  const cleanup = new Cleanup();
  let app = '';
  let n = 0;

  beforeAll(async () => {
    backend = await startBackend(name);
  }, 60000);
  afterAll(() => backend?.dispose());
  beforeEach(() => {
    app = `app${++n}`;
  });
  afterEach(() => cleanup.run());

  const client = (options: Parameters<typeof clientOf>[3] = {}) => clientOf(backend, app, cleanup, options);
  const connected = async (options: Parameters<typeof clientOf>[3] = {}) => {
    const c = client(options);
    await c.connect();
    return c;
  };

  describe('pub/sub', () => {
    it('a worker subscribed to its GPID gets what is published to it; an integer and its string are one channel', async () => {
      const worker = await connected({ defaultChannel: GPID });
      const got = inbox(worker);
      const pusher = await connected();
      expect(await pusher.publish(GPID, { text: 'hello' })).toMatchObject({ code: 0, published: 1 });
      expect(await pusher.publish(String(GPID), 'as a string')).toMatchObject({ published: 1 });
      await until(() => got.length === 2, 3000, 'two deliveries');
      expect(got[0]).toMatchObject({ command: 'message', key: GPID, value: { text: 'hello' } });
      expect(got[0]!.source).toMatch(backend.differences.source);
      // the key comes in the publisher's form
      expect(got[1]).toMatchObject({ command: 'message', key: String(GPID), value: 'as a string' });
      expect(await pusher.publish(GPID + 1, 'nobody')).toMatchObject({ published: 0 });
    });

    it('publish to several keys delivers once per channel subscribed; unsubscribe stops deliveries', async () => {
      const sub = await connected();
      const got = inbox(sub);
      expect(await sub.subscribe(['a', 'b', 7])).toMatchObject({ code: 0 });
      const pub = await connected();
      expect((await pub.publish(['a', 'b', 'c', 'a'], 'x')).published).toBe(2);
      await until(() => got.length === 2, 3000, 'two deliveries');
      expect(got.map((m) => m.key).sort()).toEqual(['a', 'b']);
      expect(await sub.unsubscribe(['a', 7])).toMatchObject({ code: 0 });
      expect((await pub.publish(['a', 7], 'gone')).published).toBe(0);
      expect((await pub.publish('b', 'still')).published).toBe(1);
      await until(() => got.length === 3, 3000, 'the third delivery');
      expect(got[2]).toMatchObject({ key: 'b', value: 'still' });
    });

    it("one publisher's messages arrive in the order published", async () => {
      const sub = await connected({ defaultChannel: 'ordered' });
      const got = inbox(sub);
      const pub = await connected();
      const sent = Array.from({ length: 500 }, (_, i) => i);
      await Promise.all(sent.map((i) => pub.publish('ordered', i)));
      await until(() => got.length === 500, 5000, '500 deliveries');
      expect(got.map((m) => m.value)).toEqual(sent);
    });

    it('broadcast reaches each subscribed client once (however many channels), not the sender unless loop, not unsubscribed clients', async () => {
      const a = await connected({ defaultChannel: ['a1', 'a2', 'a3', 'a4', 'a5'] });
      const b = await connected({ defaultChannel: 'b1' });
      const quiet = await connected();
      const [gotA, gotB, gotQuiet] = [inbox(a), inbox(b), inbox(quiet)];
      const broadcasts = (box: Delivery[], v: string) => box.filter((m) => m.command === 'broadcast' && m.value === v).length;
      const seen = (box: Delivery[], v: string) => until(() => broadcasts(box, v) > 0, 3000, `broadcast ${v}`);
      // a second broadcast from the same sender comes after the first: then duplicates would be in
      expect(await quiet.broadcast('x')).toMatchObject({ published: 2 });
      await quiet.broadcast('end-x');
      await Promise.all([seen(gotA, 'end-x'), seen(gotB, 'end-x')]);
      expect([broadcasts(gotA, 'x'), broadcasts(gotB, 'x'), broadcasts(gotQuiet, 'x')]).toEqual([1, 1, 0]);
      expect(gotA.find((m) => m.value === 'x')!.source).toMatch(backend.differences.source);

      expect(await a.broadcast('y')).toMatchObject({ published: 1 });
      expect(await a.broadcast('z', true)).toMatchObject({ published: 2 });
      await a.broadcast('end-z', true);
      await Promise.all([seen(gotA, 'end-z'), seen(gotB, 'end-z')]);
      expect([broadcasts(gotA, 'y'), broadcasts(gotB, 'y')]).toEqual([0, 1]);
      expect([broadcasts(gotA, 'z'), broadcasts(gotB, 'z')]).toEqual([1, 1]);
    });
  });

  describe('hash', () => {
    it('set / get / delete; an integer key and its string are one key; a missing key is null', async () => {
      const c = await connected();
      expect(await c.set(42, { n: 1 })).toMatchObject({ code: 0 });
      expect((await c.get('42')).value).toEqual({ n: 1 });
      expect((await c.get('missing')).value).toBeNull();
      expect((await c.delete(42)).value).toBe(1);
      expect((await c.delete(42)).value).toBe(0);
      expect((await c.get(42)).value).toBeNull();
    });

    it('an entry is returned until its expire (absolute unix seconds), never after; an expire in the past deletes', async () => {
      const c = await connected();
      const now = Date.now() / 1000;
      await c.set('soon', 'v', now + 0.6);
      await c.set('later', 'v', now + 3600);
      await c.set('gone', 'v');
      await c.set('gone', 'v', now - 10);
      expect((await c.get('soon')).value).toBe('v');
      expect((await c.get('gone')).value).toBeNull();
      await until(async () => (await c.get('soon')).value === null, 5000, 'soon expired');
      expect((await c.get('later')).value).toBe('v');
    });

    it('count and deleteAll count live entries only', async () => {
      const c = await connected();
      const other = client({ target: backend.target(`${app}-other`) });
      await other.connect();
      await c.deleteAll();
      await other.set('other-app', 'mine');
      await c.set('k1', 1);
      await c.set('k2', 2, Date.now() / 1000 + 3600);
      await c.set('k3', 3, Date.now() / 1000 - 1);
      const others = backend.differences.prefixScoped ? 0 : 1;
      expect((await c.count()).value).toBe(2 + others);
      expect((await c.deleteAll()).value).toBe(2 + others);
      expect((await c.count()).value).toBe(0);
      // several applications share one Redis through their prefixes; a beyod dispatcher serves one
      expect((await other.get('other-app')).value).toBe(backend.differences.prefixScoped ? 'mine' : null);
    });
  });

  describe('queues', () => {
    it('highest priority first, FIFO within a priority (negative and fractional priorities too)', async () => {
      const c = await connected();
      const priorities = [0, 2, -1.5, 10, 0, 2, 10, -1.5, 0, 2.25, 10, 0];
      for (const [i, p] of priorities.entries()) await c.qpush('pq', { i }, p);
      expect((await c.qcount('pq')).value).toBe(priorities.length);
      const expected = priorities.map((p, i) => ({ p, i })).sort((x, y) => y.p - x.p || x.i - y.i);
      const out: Array<{ p: unknown; i: unknown }> = [];
      for (let r = await c.qpop('pq'); r.value !== null; r = await c.qpop('pq')) {
        out.push({ p: r.priority, i: (r.value as { i: number }).i });
      }
      expect(out).toEqual(expected);
      expect((await c.qpop('pq')).value).toBeNull();
    });

    it('qpush answers the queue length; qcount, qdelete and qdeleteAll count items', async () => {
      const c = await connected();
      await c.qdeleteAll();
      expect((await c.qpush('q1', 'a')).value).toBe(1);
      expect((await c.qpush('q1', 'b', 5)).value).toBe(2);
      await c.qpush(77, 'c');
      expect((await c.qcount('77')).value).toBe(1);
      expect((await c.qdelete('q1')).value).toBe(2);
      expect((await c.qcount('q1')).value).toBe(0);
      expect((await c.qdelete('q1')).value).toBe(0);
      await c.qpush('q2', 'd');
      expect((await c.qdeleteAll()).value).toBe(2);
      expect((await c.qcount(77)).value).toBe(0);
    });

    it('a blocking qpop waits for a push (which answers as documented); with a timeout it answers null', async () => {
      const consumer = await connected();
      const producer = await connected();
      const before = await backend.blocked();
      const pop = consumer.qpop('jobs', { block: true, timeout: 10 });
      await until(async () => (await backend.blocked()) > before, 3000, 'the pop blocked');
      const pushed = await producer.qpush('jobs', { job: 1 }, 3);
      expect(pushed.value).toBe(backend.differences.pushToWaiterAnswersZero ? 0 : 1);
      expect(await pop).toMatchObject({ value: { job: 1 }, priority: 3 });
      expect((await producer.qcount('jobs')).value).toBe(0);
      expect((await consumer.qpop('jobs', { block: true, timeout: 0.2 })).value).toBeNull();
      expect((await consumer.qpop('jobs')).value).toBeNull();
    });

    it('blocked pops are served in the order they blocked, each taking the highest item pushed after', async () => {
      const producer = await connected();
      const consumers = await Promise.all([connected(), connected(), connected()]);
      const pops: Array<Promise<unknown>> = [];
      for (const c of consumers) {
        const before = await backend.blocked();
        pops.push(c.qpop('line', { block: true, timeout: 10 }).then((r) => r.value));
        await until(async () => (await backend.blocked()) > before, 3000, 'the pop blocked');
      }
      for (const v of ['first', 'second', 'third']) await producer.qpush('line', v);
      expect(await Promise.all(pops)).toEqual(['first', 'second', 'third']);
    });
  });

  describe('bad input', () => {
    it('is refused with the dispatcher codes, and the client carries on', async () => {
      const c = await connected();
      expect((await rejection(c.set('k', null))).code).toBe(E.NO_DATA);
      expect((await rejection(c.set('k', undefined))).wireCode).toBe(730);
      expect((await rejection(c.get({} as never))).code).toBe(E.KEY_ERROR);
      expect((await rejection(c.publish([1, {}] as never, 'v'))).code).toBe(E.KEY_ERROR);
      expect((await rejection(c.qpush('q', 'v', 'high' as never))).code).toBe(E.DATA_ERROR);
      expect((await rejection(c.set('k', 'v', -1))).code).toBe(E.DATA_ERROR);
      expect((await rejection(c.qpop('q', { block: true, timeout: -1 }))).code).toBe(E.DATA_ERROR);
      expect(() => c.subscribe(1.5)).toThrow(expect.objectContaining({ code: E.INVALID_ARGUMENT }));
      expect(await c.set('k', 'fine')).toMatchObject({ code: 0 });
      expect((await c.get('k')).value).toBe('fine');
    });

    it('before connect() requests fail with NOT_CONNECTED', async () => {
      const c = client();
      expect((await rejection(c.get('k'))).code).toBe(E.NOT_CONNECTED);
      expect((await rejection(c.subscribe('x'))).code).toBe(E.NOT_CONNECTED);
      expect((await rejection(c.qpop('q', { block: true, timeout: 1 }))).code).toBe(E.NOT_CONNECTED);
    });
  });

  describe('losing a server', () => {
    it('the subscriber is subscribed again where its channel lives; the data is kept only where documented', async () => {
      const channel = `gpid-${GPID}`;
      const worker = await connected({ defaultChannel: channel });
      const got = inbox(worker);
      const pusher = await connected();
      await pusher.set(channel, 'state');
      await pusher.qpush(channel, 'queued');
      await backend.lose(channel, app);
      await until(
        async () => {
          const r = await pusher.publish(channel, 'after').catch(() => ({ published: 0 }));
          return (r.published ?? 0) > 0 && got.some((m) => m.value === 'after');
        },
        20000,
        'a delivery after the server was lost',
      );
      const kept = backend.differences.dataSurvivesServerLoss;
      expect((await pusher.get(channel)).value).toBe(kept ? 'state' : null);
      expect((await pusher.qcount(channel)).value).toBe(kept ? 1 : 0);
    }, 40000);
  });
}

describe('conformance: one beyod dispatcher', () => conformance('dispatcher'));
describe('conformance: three beyod dispatchers', () => conformance('sharded'));
describeWithRedis('conformance: redis-server', () => conformance('redis'));
describeWithRedisCluster('conformance: Redis Cluster (3 masters, 3 replicas)', () => conformance('cluster'));
