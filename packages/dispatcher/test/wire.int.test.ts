import { Cleanup, frame, until } from 'test-helpers';
import { type Json, type Wire, dispatcherWithWire, req } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const now = () => Date.now() / 1000;

const setup = (options: Parameters<typeof dispatcherWithWire>[1] = {}) => dispatcherWithWire(cleanup, options);

describe('dispatcher wire: framing and response shape', () => {
  it('answers with command, key, code 0, message "ok" and the same seq', async () => {
    const { connect } = await setup();
    const c = await connect();
    const r = await c.call({ command: 'set', key: 'k', value: { a: [1, 'é'] }, seq: 'abc-1' });
    expect(r).toEqual({ command: 'set', key: 'k', code: 0, message: 'ok', seq: 'abc-1' });
    expect(await c.call({ command: 'get', key: 'k', seq: 42 })).toEqual({
      command: 'get',
      key: 'k',
      code: 0,
      message: 'ok',
      seq: 42,
      value: { a: [1, 'é'] },
    });
  });

  it('the length header counts the whole packet, header included (bytes, not UTF-16 units)', async () => {
    const { connect } = await setup();
    const c = await connect();
    const body = Buffer.from(JSON.stringify({ command: 'get', key: '€', seq: 1 }));
    const packet = Buffer.alloc(4 + body.length);
    packet.writeUInt32BE(4 + body.length, 0);
    body.copy(packet, 4);
    c.send(packet);
    await c.next();
    const got = c.raw.received;
    expect(got.readUInt32BE(0)).toBe(got.length);
    expect(JSON.parse(got.subarray(4).toString())).toMatchObject({ command: 'get', key: '€', value: null });
  });

  it('a request split byte by byte gets one answer', async () => {
    const { connect } = await setup();
    const c = await connect();
    const bytes = frame(JSON.stringify(req('count')));
    for (const b of bytes) c.raw.write(Buffer.from([b]));
    expect(await c.next()).toMatchObject({ command: 'count', code: 0, value: 0 });
    expect(c.unread).toBe(0);
  });

  it('500 requests coalesced in one write get 500 answers, in order', async () => {
    const { connect } = await setup();
    const c = await connect();
    const reqs = Array.from({ length: 500 }, (_, i) => frame(JSON.stringify({ command: 'qpush', key: 'q', value: i, seq: i })));
    c.raw.write(Buffer.concat(reqs));
    const answers = await c.take(500);
    expect(answers.map((a) => a.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(answers.map((a) => a.value)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });
});

describe('dispatcher wire: pub/sub', () => {
  it("subscribe takes one key or many, ints and strings; the answer lists the request's keys and counts the channels", async () => {
    const { connect } = await setup();
    const c = await connect();
    expect(await c.call(req('subscribe', { key: 'news' }))).toMatchObject({ command: 'subscribe', key: ['news'], code: 0, count: 1 });
    expect(await c.call(req('subscribe', { key: [65537, 'sport', 'news', '65537'] }))).toMatchObject({
      key: [65537, 'sport', 'news'],
      count: 3,
    });
    // 65537 and "65537" are one channel, as PHP array keys were
    expect(await c.call(req('subscribe', { key: '65537' }))).toMatchObject({ key: ['65537'], count: 3 });
  });

  it('delivers {"command":"message","key","value","source"} to each subscriber; published counts them', async () => {
    const { connect } = await setup();
    const [a, b, other, pub] = [await connect(), await connect(), await connect(), await connect()];
    await a.call(req('subscribe', { key: 65537 }));
    await b.call(req('subscribe', { key: ['65537', 'x'] }));
    await other.call(req('subscribe', { key: 'other' }));
    const r = await pub.call(req('publish', { key: 65537, value: { hello: 'world' } }));
    expect(r).toMatchObject({ command: 'publish', key: 65537, code: 0, message: 'ok', published: 2 });
    const source = `127.0.0.1:${pub.raw.socket.localPort}`;
    expect(await a.next()).toEqual({ command: 'message', key: 65537, value: { hello: 'world' }, source });
    expect(await b.next()).toEqual({ command: 'message', key: 65537, value: { hello: 'world' }, source });
    expect(other.unread).toBe(0);
  });

  it('publish to many keys delivers once per channel subscribed; to none is 0', async () => {
    const { connect } = await setup();
    const [a, pub] = [await connect(), await connect()];
    await a.call(req('subscribe', { key: ['c1', 'c2'] }));
    expect((await pub.call(req('publish', { key: ['c1', 'c2', 'c3', 'c1'], value: 'v' }))).published).toBe(2);
    expect((await a.take(2)).map((m) => m.key)).toEqual(['c1', 'c2']);
    expect((await pub.call(req('publish', { key: 'nobody', value: 1 }))).published).toBe(0);
  });

  it('pipelined publishes to two channels reach a subscriber of both in publish order, each once', async () => {
    const { connect } = await setup();
    const [both, one, pub] = [await connect(), await connect(), await connect()];
    await both.call(req('subscribe', { key: ['a', 'b'] }));
    await one.call(req('subscribe', { key: 'a' }));
    const order = ['a', 'a', 'b', 'a', 'b', 'b', 'a'];
    pub.raw.write(Buffer.concat(order.map((key, i) => frame(JSON.stringify(req('publish', { key, value: i }))))));
    expect((await both.take(order.length)).map((m) => [m.key, m.value])).toEqual(order.map((k, i) => [k, i]));
    expect((await one.take(4)).map((m) => m.value)).toEqual([0, 1, 3, 6]);
    expect((await pub.take(order.length)).map((a) => a.published)).toEqual(order.map((k) => (k === 'a' ? 2 : 1)));
  });

  it('in one write: a subscribe gets what is published after it, not before; an unsubscribe the reverse', async () => {
    const { connect } = await setup();
    const [x, other] = [await connect(), await connect()];
    await other.call(req('subscribe', { key: 'ch' }));
    const w = (command: string, value?: string) =>
      frame(JSON.stringify(req(command, value === undefined ? { key: 'ch' } : { key: 'ch', value })));
    x.raw.write(Buffer.concat([w('publish', 'before'), w('subscribe'), w('publish', 'after')]));
    const got = await x.take(4);
    expect(got.map((m) => (m.command === 'message' ? `message ${String(m.value)}` : m.command))).toEqual([
      'publish',
      'subscribe',
      'message after',
      'publish',
    ]);
    x.raw.write(Buffer.concat([w('publish', 'one'), w('unsubscribe'), w('publish', 'two')]));
    const more = await x.take(4);
    expect(more.map((m) => (m.command === 'message' ? `message ${String(m.value)}` : m.command))).toEqual([
      'message one',
      'publish',
      'unsubscribe',
      'publish',
    ]);
    expect((await other.take(4)).map((m) => m.value)).toEqual(['before', 'after', 'one', 'two']);
  });

  it('a delivery carries the key and value as sent, whatever the order and spacing of the request', async () => {
    const { connect } = await setup();
    const [sub, pub] = [await connect(), await connect()];
    await sub.call(req('subscribe', { key: ['k', 7] }));
    const bodies = [
      '{"command":"publish","key":"k","value":{"a":[1,"é"]},"seq":1}',
      '{"value":{"a":[1,"é"]},"seq":2,"key":"k","command":"publish"}',
      '{ "command" : "publish" , "key" : "k" , "value" : { "a" : [ 1 , "é" ] } , "seq" : 3 }',
      '{"command":"publish","key":7,"value":"x","seq":4}',
      '{"command":"publish","key":["k"],"value":"list","seq":5}',
    ];
    pub.raw.write(Buffer.concat(bodies.map((b) => frame(b))));
    const got = await sub.take(5);
    expect(got.map((m) => [m.key, m.value])).toEqual([
      ['k', { a: [1, 'é'] }],
      ['k', { a: [1, 'é'] }],
      ['k', { a: [1, 'é'] }],
      [7, 'x'],
      ['k', 'list'],
    ]);
    expect((await pub.take(5)).map((a) => a.published)).toEqual([1, 1, 1, 1, 1]);
  });

  it('seq comes back as its exact JSON text: integers of any length, negative, -0, fractions, exponents, strings', async () => {
    const { connect } = await setup();
    const c = await connect();
    const seqs = ['0', '7', '123456789', '1234567890', '99999999999999999999', '-3', '-0', '1.50', '1e3', '"s"', '"é"'];
    c.raw.write(Buffer.concat(seqs.map((q) => frame(`{"command":"count","seq":${q}}`))));
    await c.take(seqs.length);
    const texts: string[] = [];
    const b = c.raw.received;
    for (let i = 0; i < b.length; i += b.readUInt32BE(i)) texts.push(b.toString('utf8', i + 4, i + b.readUInt32BE(i)));
    expect(texts.map((t) => /"seq":("[^"]*"|[^,}]*)/.exec(t)?.[1])).toEqual(seqs);
  });

  it('deliveries stay intact across many batches (past the 256 KiB slab they are written into)', async () => {
    const { connect } = await setup();
    const [sub, pub] = [await connect(), await connect()];
    await sub.call(req('subscribe', { key: 'big' }));
    const values = Array.from({ length: 300 }, (_, i) => `${i}:${'v'.repeat(1000 + (i % 7) * 3000)}`);
    // in several writes, so that some turns hold one batch and others many
    for (let k = 0; k < values.length; k += 50) {
      pub.raw.write(
        Buffer.concat(
          values.slice(k, k + 50).map((v, j) => frame(JSON.stringify({ command: 'publish', key: 'big', value: v, seq: k + j }))),
        ),
      );
    }
    const got = await sub.take(values.length, 10_000);
    expect(got.map((m) => m.value)).toEqual(values);
    expect((await pub.take(values.length, 10_000)).map((a) => a.seq)).toEqual(values.map((_, i) => i));
  });

  it('repeated publishes to one key follow its channel as it comes, goes and comes back', async () => {
    const { connect } = await setup();
    const [sub, pub] = [await connect(), await connect()];
    const publish = async (value: number) => (await pub.call(req('publish', { key: 'k', value }))).published;
    expect(await publish(1)).toBe(0); // no channel yet
    await sub.call(req('subscribe', { key: 'k' }));
    expect(await publish(2)).toBe(1);
    expect(await sub.next()).toMatchObject({ command: 'message', key: 'k', value: 2 });
    await sub.call(req('unsubscribe', { key: 'k' })); // the channel is dropped
    expect(await publish(3)).toBe(0);
    await sub.call(req('subscribe', { key: 'k' })); // a new channel of the same name
    expect(await publish(4)).toBe(1);
    expect((await pub.call(req('publish', { key: 'j', value: 5 }))).published).toBe(0);
    expect(await publish(6)).toBe(1);
    expect((await sub.take(2)).map((m) => [m.key, m.value])).toEqual([
      ['k', 4],
      ['k', 6],
    ]);
    expect(sub.unread).toBe(0);
  });

  it('a publisher subscribed to the channel gets its own message', async () => {
    const { connect } = await setup();
    const c = await connect();
    await c.call(req('subscribe', { key: 'me' }));
    c.send(req('publish', { key: 'me', value: 'echo' }));
    const [m, r] = await c.take(2);
    expect(m).toMatchObject({ command: 'message', key: 'me', value: 'echo' });
    expect(r).toMatchObject({ command: 'publish', published: 1 });
  });

  it('unsubscribe unsubscribes (the PHP original did not): nothing is delivered afterwards', async () => {
    const { connect } = await setup();
    const [a, pub] = [await connect(), await connect()];
    await a.call(req('subscribe', { key: ['x', 'y', 7] }));
    expect(await a.call(req('unsubscribe', { key: ['x', '7'] }))).toMatchObject({ key: ['x', '7'], count: 1 });
    expect((await pub.call(req('publish', { key: ['x', 7], value: 1 }))).published).toBe(0);
    expect((await pub.call(req('publish', { key: 'y', value: 2 }))).published).toBe(1);
    expect(await a.next()).toMatchObject({ key: 'y', value: 2 });
    expect(a.unread).toBe(0);
  });

  it('broadcast reaches every subscribed connection once, not the sender unless loop; "broadcat" works too', async () => {
    const { connect } = await setup();
    const [a, b, idle, sender] = [await connect(), await connect(), await connect(), await connect()];
    await a.call(req('subscribe', { key: ['c1', 'c2'] }));
    await b.call(req('subscribe', { key: 'c3' }));
    await sender.call(req('subscribe', { key: 'c1' }));
    expect(await sender.call(req('broadcast', { value: 'all' }))).toMatchObject({ command: 'broadcast', published: 2 });
    const source = `127.0.0.1:${sender.raw.socket.localPort}`;
    expect(await a.next()).toEqual({ command: 'broadcast', value: 'all', source });
    expect(await b.next()).toEqual({ command: 'broadcast', value: 'all', source });
    sender.send(req('broadcat', { value: 'seed spelling', loop: true }));
    const got = await sender.take(2);
    expect(got.find((m) => m.command === 'broadcast')).toMatchObject({ value: 'seed spelling' });
    expect(got.find((m) => m.command === 'broadcat')).toMatchObject({ published: 3 });
    expect((await a.next()).value).toBe('seed spelling');
    expect(a.unread + idle.unread).toBe(0);
  });

  it("channels lists every channel with its subscribers' addresses", async () => {
    const { connect } = await setup();
    const [a, b] = [await connect(), await connect()];
    await a.call(req('subscribe', { key: ['c1', 5] }));
    await b.call(req('subscribe', { key: 'c1' }));
    const r = await a.call(req('channels'));
    const peer = (w: Wire) => `127.0.0.1:${w.raw.socket.localPort}`;
    expect(r).toMatchObject({ command: 'channels', key: null, code: 0, cursor: 0, total: 2 });
    expect(r.value).toEqual({ c1: [peer(a), peer(b)], 5: [peer(a)] });
  });

  it('closing a connection removes its subscriptions', async () => {
    const { connect, handler } = await setup();
    const [a, pub] = [await connect(), await connect()];
    await a.call(req('subscribe', { key: ['gone', 'too'] }));
    a.raw.destroy();
    await until(() => handler.getStats().clients === 1);
    expect((await pub.call(req('publish', { key: ['gone', 'too'], value: 1 }))).published).toBe(0);
    expect((await pub.call(req('channels'))).value).toEqual({});
  });
});

describe('dispatcher wire: hash', () => {
  it('set / get / delete / deleteall / count; count counts entries and delete deletes the key given', async () => {
    const { connect } = await setup();
    const c = await connect();
    await c.call(req('set', { key: 'a', value: 1 }));
    await c.call(req('set', { key: 2, value: [1, 2, 3] }));
    await c.call(req('set', { key: 'c', value: 'three' }));
    expect((await c.call(req('get', { key: '2' }))).value).toEqual([1, 2, 3]);
    expect((await c.call(req('count'))).value).toBe(3);
    expect((await c.call(req('delete', { key: 'a' }))).value).toBe(1);
    expect((await c.call(req('delete', { key: 'a' }))).value).toBe(0);
    expect((await c.call(req('get', { key: 'a' }))).value).toBeNull();
    expect((await c.call(req('get', { key: 'c' }))).value).toBe('three');
    expect((await c.call(req('count'))).value).toBe(2);
    expect((await c.call(req('deleteall'))).value).toBe(2);
    expect((await c.call(req('count'))).value).toBe(0);
    expect((await c.call(req('get', { key: 2 }))).value).toBeNull();
  });

  it('an entry with a future expire is returned; once expired it is never returned', async () => {
    const { connect } = await setup();
    const c = await connect();
    await c.call(req('set', { key: 'later', value: 'v', expire: Math.floor(now()) + 3600 }));
    await c.call(req('set', { key: 'soon', value: 'v', expire: now() + 0.3 }));
    await c.call(req('set', { key: 'past', value: 'v', expire: Math.floor(now()) - 10 }));
    expect((await c.call(req('get', { key: 'later' }))).value).toBe('v');
    expect((await c.call(req('get', { key: 'soon' }))).value).toBe('v');
    expect((await c.call(req('get', { key: 'past' }))).value).toBeNull();
    await until(async () => (await c.call(req('get', { key: 'soon' }))).value === null, 3000, 'soon expired');
    expect((await c.call(req('count'))).value).toBe(1);
  });

  it('expired entries are reclaimed without being read', async () => {
    const { connect, handler } = await setup();
    const c = await connect();
    for (let i = 0; i < 50; i++) c.send(req('set', { key: `k${i}`, value: i, expire: now() + 0.2 }));
    await c.take(50);
    await until(() => handler.getStats().expired === 50, 3000, 'all 50 reclaimed');
  });
});

describe('dispatcher wire: priority queues', () => {
  it('qpop gives the highest priority first, FIFO among equal priorities; empty gives null', async () => {
    const { connect } = await setup();
    const c = await connect();
    const items: Array<[string, number]> = [
      ['low-1', -1],
      ['mid-1', 0],
      ['high-1', 5],
      ['mid-2', 0],
      ['high-2', 5],
      ['low-2', -1],
      ['mid-3', 0],
    ];
    for (const [value, priority] of items) {
      c.send(priority === 0 ? req('qpush', { key: 'jobs', value }) : req('qpush', { key: 'jobs', value, priority }));
    }
    expect((await c.take(items.length)).map((r) => r.value)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await c.call(req('qcount', { key: 'jobs' }))).value).toBe(7);
    const out: unknown[] = [];
    for (let i = 0; i < 7; i++) out.push((await c.call(req('qpop', { key: 'jobs' }))).value);
    expect(out).toEqual(['high-1', 'high-2', 'mid-1', 'mid-2', 'mid-3', 'low-1', 'low-2']);
    expect(await c.call(req('qpop', { key: 'jobs' }))).toMatchObject({ command: 'qpop', key: 'jobs', code: 0, value: null });
  });

  it('qdelete empties one queue, qdeleteall every queue', async () => {
    const { connect } = await setup();
    const c = await connect();
    for (const key of ['a', 'a', 'b', 'c']) await c.call(req('qpush', { key, value: 1 }));
    expect((await c.call(req('qdelete', { key: 'a' }))).value).toBe(2);
    expect((await c.call(req('qcount', { key: 'a' }))).value).toBe(0);
    expect((await c.call(req('qcount', { key: 'b' }))).value).toBe(1);
    expect((await c.call(req('qdeleteall'))).value).toBe(2);
    expect((await c.call(req('stats'))).value).toMatchObject({ queued: 0, queues: 0 });
  });

  it('a blocking qpop waits and takes the next item pushed', async () => {
    const { connect } = await setup();
    const [waiter, pusher] = [await connect(), await connect()];
    waiter.send({ command: 'qpop', key: 'q', block: true, seq: 'w1' });
    await until(async () => ((await pusher.call(req('stats'))).value as Json).blocked === 1);
    expect(waiter.unread).toBe(0);
    expect((await pusher.call(req('qpush', { key: 'q', value: 'job', priority: 3 }))).value).toBe(0);
    expect(await waiter.next()).toEqual({ command: 'qpop', key: 'q', code: 0, message: 'ok', seq: 'w1', value: 'job', priority: 3 });
    expect((await pusher.call(req('qcount', { key: 'q' }))).value).toBe(0);
  });

  it('blocked pops are served in arrival order; one with a timeout answers null when it expires', async () => {
    const { connect } = await setup();
    const [w1, w2, w3, pusher] = [await connect(), await connect(), await connect(), await connect()];
    w1.send({ command: 'qpop', key: 'q', block: true, seq: 1 });
    await until(async () => ((await pusher.call(req('stats'))).value as Json).blocked === 1);
    w2.send({ command: 'qpop', key: 'q', block: true, seq: 2 });
    w3.send({ command: 'qpop', key: 'q', block: true, timeout: 0.2, seq: 3 });
    expect(await w3.next()).toMatchObject({ command: 'qpop', seq: 3, code: 0, value: null });
    await pusher.call(req('qpush', { key: 'q', value: 'first' }));
    await pusher.call(req('qpush', { key: 'q', value: 'second' }));
    expect((await w1.next()).value).toBe('first');
    expect((await w2.next()).value).toBe('second');
  });

  it('a blocked qpop does not hold up the connection: later requests are answered first', async () => {
    const { connect } = await setup();
    const [c, pusher] = [await connect(), await connect()];
    c.send({ command: 'qpop', key: 'q', block: true, seq: 'pop' });
    expect(await c.call({ command: 'count', seq: 'count' })).toMatchObject({ seq: 'count' });
    await pusher.call(req('qpush', { key: 'q', value: 'late' }));
    expect(await c.next()).toMatchObject({ seq: 'pop', value: 'late' });
  });

  it('a blocked waiter that disconnects is forgotten: the next item stays in the queue', async () => {
    const { connect, handler } = await setup();
    const [waiter, pusher] = [await connect(), await connect()];
    waiter.send({ command: 'qpop', key: 'q', block: true, seq: 1 });
    await until(() => handler.getStats().blocked === 1);
    waiter.raw.destroy();
    await until(() => handler.getStats().blocked === 0);
    expect((await pusher.call(req('qpush', { key: 'q', value: 'kept' }))).value).toBe(1);
    expect((await pusher.call(req('qpop', { key: 'q' }))).value).toBe('kept');
  });
});

describe('dispatcher wire: a subscriber that does not read', () => {
  it('misses deliveries while its send buffer is full (counted as dropped); the publisher and the others carry on', async () => {
    const { connect, handler, listener } = await setup();
    listener.maxSendBuffer = 64 * 1024; // read by connections made after this
    const [slow, fast, pub] = [await connect(), await connect(), await connect()];
    await slow.call(req('subscribe', { key: 'ch' }));
    await fast.call(req('subscribe', { key: 'ch' }));
    slow.raw.socket.pause(); // stops reading: the kernel buffers fill, then the server's
    const big = 'x'.repeat(16 * 1024);
    let n = 0;
    let published = 0;
    while (n < 2000 && handler.getStats().dropped === 0) {
      n++;
      published += (await pub.call(req('publish', { key: 'ch', value: big }), 5000)).published as number;
    }
    const { dropped, delivered } = handler.getStats();
    expect(dropped).toBeGreaterThan(0);
    // the reading subscriber got every message
    expect((await fast.take(n, 5000)).every((m) => m.value === big)).toBe(true);
    // `published` counts deliveries handed to a subscriber, not the ones skipped
    expect(published).toBe(2 * n - dropped);
    expect(delivered).toBe(published);
    // once it reads again, it drains and gets what is published next
    slow.raw.socket.resume();
    await until(() => slow.frames().length > 1, 5000, 'the slow subscriber reading');
    await until(
      async () => {
        pub.send(req('publish', { key: 'ch', value: 'after' }));
        return (await pub.next()).published === 2;
      },
      5000,
      'slow subscriber served again',
    );
    await slow.raw.waitUntil(() => slow.frames().some((f) => f.value === 'after'), 5000);
  });
});

describe('dispatcher wire: stats', () => {
  it('stats (and info) report clients, channels, keys, queued items and messages', async () => {
    const { connect } = await setup();
    const [a, b] = [await connect(), await connect()];
    await a.call(req('subscribe', { key: ['c1', 'c2'] }));
    await b.call(req('set', { key: 'k', value: 1 }));
    await b.call(req('qpush', { key: 'q', value: 1 }));
    await b.call(req('publish', { key: 'c1', value: 1 }));
    await a.next();
    const s = (await b.call(req('stats'))).value as Json;
    expect(s).toMatchObject({
      clients: 2,
      channels: 2,
      subscribers: 1,
      keys: 1,
      queues: 1,
      queued: 1,
      blocked: 0,
      published: 1,
      delivered: 1,
    });
    expect(s.messagesIn).toBe(5);
    expect(s.messagesOut).toBeGreaterThanOrEqual(5);
    expect((await b.call(req('info'))).command).toBe('info');
  });
});
