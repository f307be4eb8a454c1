import { WireCodes } from '@beyod/dispatcher';
import { Cleanup, RawClient, frame, until } from 'test-helpers';
import { type Json, Wire, dispatcherWithWire, req } from './helpers';

// Issue 11: one hostile connection must not poison data, lose answers, stall the dispatcher or
// fill its memory. Each test here failed on the code before the fix.
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const setup = (options: Parameters<typeof dispatcherWithWire>[1] = {}) => dispatcherWithWire(cleanup, options);

/** `[[[...]]]`, `depth` levels. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** A request whose value is raw JSON text (the test helpers would stringify an object). */
function rawRequest(fields: string, value: string): Buffer {
  return frame(`{${fields},"value":${value}}`);
}

describe('dispatcher: every request gets exactly one answer', () => {
  const DEEP = nested(100_000);

  it('a value nested 100k levels deep is refused with 760 by set, qpush and publish; nothing is poisoned or lost', async () => {
    const { connect, handler } = await setup();
    const [c, sub] = [await connect(), await connect()];
    await c.call(req('set', { key: 'k', value: 'before' }));
    c.send(rawRequest('"command":"set","key":"k","seq":"deep-set"', DEEP));
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 'deep-set' });
    // the key keeps its value and answers
    expect(await c.call(req('get', { key: 'k' }))).toMatchObject({ code: 0, value: 'before' });

    await c.call(req('qpush', { key: 'q', value: 'item' }));
    c.send(rawRequest('"command":"qpush","key":"q","seq":"deep-push"', DEEP));
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 'deep-push' });
    expect((await c.call(req('qcount', { key: 'q' }))).value).toBe(1);
    expect(await c.call(req('qpop', { key: 'q' }))).toMatchObject({ code: 0, value: 'item' });

    await sub.call(req('subscribe', { key: 'ch' }));
    c.send(rawRequest('"command":"publish","key":"ch","seq":"deep-pub"', DEEP));
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 'deep-pub' });
    expect(await c.call(req('publish', { key: 'ch', value: 'fine' }))).toMatchObject({ published: 1 });
    expect(await sub.next()).toMatchObject({ command: 'message', value: 'fine' });
    expect(sub.unread + c.unread).toBe(0);
    expect(handler.getStats().published).toBe(1);
  });

  it('a too deep push to a blocked pop is refused; the pop keeps waiting and gets the next item', async () => {
    const { connect } = await setup();
    const [waiter, pusher] = [await connect(), await connect()];
    waiter.send({ command: 'qpop', key: 'bq', block: true, seq: 'w' });
    await until(async () => ((await pusher.call(req('stats'))).value as Json).blocked === 1);
    pusher.send(rawRequest('"command":"qpush","key":"bq","seq":"deep"', nested(100_000)));
    expect(await pusher.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 'deep' });
    expect(waiter.unread).toBe(0);
    await pusher.call(req('qpush', { key: 'bq', value: 'ok' }));
    expect(await waiter.next()).toMatchObject({ seq: 'w', value: 'ok' });
  });

  it('nesting up to the parser maxDepth is accepted, one more level is 760, and the connection goes on', async () => {
    const { connect } = await setup({ parser: { maxDepth: 5 } });
    const c = await connect();
    // the request object is not counted: the value may nest maxDepth levels
    c.send(rawRequest('"command":"set","key":"k","seq":1', nested(5)));
    expect(await c.next()).toMatchObject({ command: 'set', code: 0 });
    expect((await c.call(req('get', { key: 'k' }))).value).toEqual(JSON.parse(nested(5)));
    c.send(rawRequest('"command":"set","key":"k","seq":2', `{"a":${nested(5)}}`));
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 2 });
    // a deep structure in any field counts, not only in value
    c.send(frame(`{"command":"count","seq":3,"extra":${nested(6)}}`));
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: 3 });
    expect(await c.call(req('count'))).toMatchObject({ code: 0, value: 1 });
  });

  it('with maxDepth 0 (no limit) a 100k-deep value is stored, returned and delivered as it came', async () => {
    const { connect } = await setup({ parser: { maxDepth: 0 } });
    const [c, sub] = [await connect(), await connect()];
    await sub.call(req('subscribe', { key: 'ch' }));
    c.send(rawRequest('"command":"set","key":"k","seq":1', DEEP));
    expect(await c.next()).toMatchObject({ command: 'set', code: 0 });
    c.send(frame('{"command":"get","key":"k","seq":2}'));
    c.send(rawRequest('"command":"publish","key":"ch","seq":3', DEEP));
    await c.raw.waitUntil((b) => b.toString().includes('"seq":3'), 5000, 'the publish answer');
    // the answers carry the value verbatim
    const text = c.raw.received.toString();
    expect(text).toContain(`"seq":2,"value":${DEEP}}`);
    expect(text).toMatch(/"command":"publish".*"seq":3.*"published":1/);
    await sub.raw.waitUntil((b) => b.toString().includes(`"value":${DEEP}`), 5000, 'the deep delivery');
  });
});

describe('dispatcher: blocked pops are bounded per connection', () => {
  it('past maxBlockedPops a blocking qpop gets 740 at once; the others keep waiting, in order', async () => {
    const { connect, handler } = await setup({ handler: { maxBlockedPops: 3 } });
    const [c, pusher] = [await connect(), await connect()];
    for (let i = 1; i <= 3; i++) c.send({ command: 'qpop', key: 'q', block: true, seq: i });
    c.send({ command: 'qpop', key: 'q', block: true, seq: 4 });
    expect(await c.next()).toMatchObject({ command: 'error', code: WireCodes.EXCEED_LIMIT, limit: 'maxBlockedPops', seq: 4 });
    expect(handler.getStats().blocked).toBe(3);
    // a non-blocking pop still answers at once
    expect(await c.call(req('qpop', { key: 'q' }))).toMatchObject({ value: null });
    for (const v of ['a', 'b', 'c']) await pusher.call(req('qpush', { key: 'q', value: v }));
    expect((await c.take(3)).map((a) => [a.seq, a.value])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    // served pops free their places
    c.send({ command: 'qpop', key: 'q', block: true, seq: 5 });
    await until(() => handler.getStats().blocked === 1);
  });

  it("closing a connection removes its waiters from the middle of a queue's line; the rest keep their order", async () => {
    const { connect, handler } = await setup();
    const [a, b, c, pusher] = [await connect(), await connect(), await connect(), await connect()];
    for (let i = 0; i < 50; i++) {
      for (const [w, name] of [
        [a, 'a'],
        [b, 'b'],
        [c, 'c'],
      ] as const)
        w.send({ command: 'qpop', key: 'q', block: true, seq: `${name}${i}` });
      await until(() => handler.getStats().blocked === 3 * (i + 1));
    }
    b.raw.destroy();
    await until(() => handler.getStats().blocked === 100);
    for (let i = 0; i < 4; i++) await pusher.call(req('qpush', { key: 'q', value: i }));
    expect((await a.take(2)).map((x) => [x.seq, x.value])).toEqual([
      ['a0', 0],
      ['a1', 2],
    ]);
    expect((await c.take(2)).map((x) => [x.seq, x.value])).toEqual([
      ['c0', 1],
      ['c1', 3],
    ]);
  });
});

describe('dispatcher: answers bounded by the request, not by the state', () => {
  it('subscribe and unsubscribe answer the keys of the request and the count of channels', async () => {
    const { connect } = await setup();
    const c = await connect();
    const many = Array.from({ length: 1000 }, (_, i) => `ch${i}`);
    expect(await c.call(req('subscribe', { key: many }))).toMatchObject({ command: 'subscribe', count: 1000 });
    const one = await c.call(req('subscribe', { key: 'x' }));
    expect(one).toMatchObject({ command: 'subscribe', key: ['x'], count: 1001 });
    expect(JSON.stringify(one).length).toBeLessThan(200);
    const un = await c.call(req('unsubscribe', { key: ['ch1', 'nope'] }));
    expect(un).toMatchObject({ command: 'unsubscribe', key: ['ch1', 'nope'], count: 1000 });
  });

  it('maxSubscriptions: a subscribe that would go past it is refused whole with 740', async () => {
    const { connect, handler } = await setup({ handler: { maxSubscriptions: 3 } });
    const c = await connect();
    await c.call(req('subscribe', { key: ['a', 'b'] }));
    expect(await c.call(req('subscribe', { key: ['a', 'c', 'd'] }))).toMatchObject({
      command: 'error',
      code: WireCodes.EXCEED_LIMIT,
      limit: 'maxSubscriptions',
    });
    expect(handler.getStats().channels).toBe(2);
    // re-subscribing what it has costs nothing
    expect(await c.call(req('subscribe', { key: ['a', 'b', 'c'] }))).toMatchObject({ code: 0, count: 3 });
  });

  it('channels is paged: count per page, a cursor to go on; every channel comes exactly once', async () => {
    const { connect } = await setup();
    const [a, b] = [await connect(), await connect()];
    const names = Array.from({ length: 25 }, (_, i) => `c${i}`);
    await a.call(req('subscribe', { key: names }));
    await b.call(req('subscribe', { key: ['c3', 'c7'] }));
    const seen = new Map<string, unknown>();
    let cursor: unknown = 0;
    let pages = 0;
    do {
      const r = await a.call(req('channels', { cursor, count: 10 }));
      expect(r).toMatchObject({ command: 'channels', code: 0 });
      const page = r.value as Record<string, string[]>;
      expect(Object.keys(page).length).toBeLessThanOrEqual(10);
      for (const [k, v] of Object.entries(page)) {
        expect(seen.has(k)).toBe(false);
        seen.set(k, v);
      }
      cursor = r.cursor;
      pages++;
    } while (cursor !== 0 && pages < 10);
    expect(pages).toBe(3);
    expect([...seen.keys()].sort()).toEqual([...names].sort());
    const peer = (w: Wire) => `127.0.0.1:${w.raw.socket.localPort}`;
    expect(seen.get('c3')).toEqual([peer(a), peer(b)]);
  });

  it('channels without a count answers one bounded page', async () => {
    const { connect } = await setup();
    const c = await connect();
    await c.call(req('subscribe', { key: Array.from({ length: 3000 }, (_, i) => i) }));
    const r = await c.call(req('channels'));
    expect(Object.keys(r.value as Json)).toHaveLength(1000);
    expect(r.cursor).not.toBe(0);
    expect(r.total).toBe(3000);
  });
});

describe('dispatcher: memory budget and auth throttling', () => {
  it('memoryLimit: the hash, queues and blocked pops share a byte budget; past it 740, and stats reports it', async () => {
    const limit = 64 * 1024;
    const { connect, handler } = await setup({ handler: { memoryLimit: limit } });
    const c = await connect();
    const big = 'x'.repeat(8 * 1024);
    let n = 0;
    for (;;) {
      const r = await c.call(req('set', { key: `k${n}`, value: big }));
      if (r.code !== 0) {
        expect(r).toMatchObject({ command: 'error', code: WireCodes.EXCEED_LIMIT, limit: 'memoryLimit' });
        break;
      }
      n++;
      expect(n).toBeLessThan(100);
    }
    expect(n).toBeGreaterThanOrEqual(5);
    const s = (await c.call(req('stats'))).value as Json;
    expect(s.memoryLimit).toBe(limit);
    expect(s.memory).toBeGreaterThan(n * big.length);
    expect(s.memory).toBeLessThanOrEqual(limit);
    expect(await c.call(req('qpush', { key: 'q', value: big }))).toMatchObject({ code: WireCodes.EXCEED_LIMIT, limit: 'memoryLimit' });
    // freeing makes room again
    await c.call(req('delete', { key: 'k0' }));
    expect(await c.call(req('qpush', { key: 'q', value: big }))).toMatchObject({ code: 0 });
    await c.call(req('deleteall'));
    await c.call(req('qdeleteall'));
    expect(handler.getStats().memory).toBe(0);
  });

  it('failed auth is throttled per address: past maxAuthFailures even the right token waits authBlockTime', async () => {
    const { connect, port } = await setup({ handler: { token: 'right', maxAuthFailures: 3, authBlockTime: 0.5 } });
    const c = await connect();
    for (let i = 0; i < 3; i++) expect(await c.call(req('auth', { value: 'wrong' }))).toMatchObject({ code: WireCodes.AUTH_FAILED });
    const throttled = await c.call(req('auth', { value: 'right' }));
    expect(throttled).toMatchObject({ command: 'error', code: WireCodes.AUTH_THROTTLED });
    // a new connection from the same address is throttled too
    const again = await connect();
    expect(await again.call(req('auth', { value: 'right' }))).toMatchObject({ code: WireCodes.AUTH_THROTTLED });
    // another address is not
    const other = await RawClient.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    cleanup.add(other, (r) => r.destroy());
    other.write(frame(JSON.stringify(req('auth', { value: 'right' }))));
    await other.waitUntil((b) => b.length >= 4 && b.length >= b.readUInt32BE(0));
    expect(JSON.parse(other.received.subarray(4).toString())).toMatchObject({ command: 'auth', code: 0 });
    // once the block time is over, the right token works
    await until(async () => (await c.call(req('auth', { value: 'right' }))).code === 0, 5000, 'unblocked');
    expect(await c.call(req('count'))).toMatchObject({ code: 0 });
  });
});

describe('dispatcher: answers are never dropped', () => {
  it("a blocked qpop's timeout answer reaches a client whose send buffer is full", async () => {
    const { connect, listener, handler } = await setup();
    listener.maxSendBuffer = 64 * 1024;
    const [c, filler] = [await connect(), await connect()];
    await filler.call(req('set', { key: 'big', value: 'y'.repeat(3 * 1024 * 1024) }), 5000);
    c.raw.socket.pause(); // reads nothing for now: the kernel buffers fill, then the server's
    c.send({ command: 'qpop', key: 'none', block: true, timeout: 1, seq: 'pop' });
    for (let i = 0; i < 8; i++) c.send({ command: 'get', key: 'big', seq: `get${i}` });
    const port = c.raw.socket.localPort;
    const conn = [...listener.connections.values()].find((x) => x.peer.endsWith(`:${port}`));
    await until(() => (conn?.sendBufferLength ?? 0) > listener.maxSendBuffer, 5000, 'the send buffer full');
    // the timeout passes while the buffer is still full
    await until(() => handler.getStats().blocked === 0, 5000, 'the pop timed out');
    expect(conn?.sendBufferLength).toBeGreaterThan(listener.maxSendBuffer);
    c.raw.socket.resume();
    const answers = await c.take(9, 10000);
    expect(answers.find((a) => a.seq === 'pop')).toMatchObject({ command: 'qpop', code: 0, value: null });
    expect(answers.filter((a) => String(a.seq).startsWith('get'))).toHaveLength(8);
  });
});
