import { WireCodes } from '@beyod/dispatcher';
import { Cleanup, frame, until } from 'test-helpers';
import { type Json, dispatcherWithWire, req } from './helpers';

// Every error code, bad frames, limits and auth, over real TCP with hand-written bytes.
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const now = () => Date.now() / 1000;
const setup = (options: Parameters<typeof dispatcherWithWire>[1] = {}) => dispatcherWithWire(cleanup, options);

describe('dispatcher wire: errors', () => {
  const cases: Array<[string, Json | string, number]> = [
    ['710 no command', { key: 'k', seq: 1 }, WireCodes.NO_COMMAND],
    ['710 command not a string', { command: 5, seq: 1 }, WireCodes.NO_COMMAND],
    ['720 unknown command', { command: 'flushall', seq: 1 }, WireCodes.UNKNOWN_COMMAND],
    ['720 the PHP typo qdelte is not a command', { command: 'qdelte', key: 'q', seq: 1 }, WireCodes.UNKNOWN_COMMAND],
    ['730 set without value', { command: 'set', key: 'k', seq: 1 }, WireCodes.NO_DATA],
    ['730 set with a null value', { command: 'set', key: 'k', value: null, seq: 1 }, WireCodes.NO_DATA],
    ['730 get without key', { command: 'get', seq: 1 }, WireCodes.NO_DATA],
    ['730 publish without value', { command: 'publish', key: 'c', seq: 1 }, WireCodes.NO_DATA],
    ['730 subscribe without key', { command: 'subscribe', seq: 1 }, WireCodes.NO_DATA],
    ['730 qpush without value', { command: 'qpush', key: 'q', seq: 1 }, WireCodes.NO_DATA],
    ['730 broadcast without value', { command: 'broadcast', seq: 1 }, WireCodes.NO_DATA],
    ['750 no seq', { command: 'count' }, WireCodes.NO_SEQ],
    ['750 seq is an object', { command: 'count', seq: { a: 1 } }, WireCodes.NO_SEQ],
    ['760 not JSON', 'not json {', WireCodes.DATA_ERROR],
    ['760 JSON array', '[1,2]', WireCodes.DATA_ERROR],
    ['760 JSON number', '42', WireCodes.DATA_ERROR],
    ['760 JSON null', 'null', WireCodes.DATA_ERROR],
    ['760 empty body', '', WireCodes.DATA_ERROR],
    ['760 expire not a number', { command: 'set', key: 'k', value: 1, expire: 'tomorrow', seq: 1 }, WireCodes.DATA_ERROR],
    ['760 negative expire', { command: 'set', key: 'k', value: 1, expire: -5, seq: 1 }, WireCodes.DATA_ERROR],
    ['760 priority not a number', { command: 'qpush', key: 'q', value: 1, priority: 'high', seq: 1 }, WireCodes.DATA_ERROR],
    ['760 timeout not a number', { command: 'qpop', key: 'q', block: true, timeout: '1s', seq: 1 }, WireCodes.DATA_ERROR],
    ['770 key is an object', { command: 'get', key: { a: 1 }, seq: 1 }, WireCodes.KEY_ERROR],
    ['770 key is a float', { command: 'set', key: 1.5, value: 1, seq: 1 }, WireCodes.KEY_ERROR],
    ['770 key list for a hash command', { command: 'set', key: ['a', 'b'], value: 1, seq: 1 }, WireCodes.KEY_ERROR],
    ['770 a bad key inside a list', { command: 'subscribe', key: ['ok', true], seq: 1 }, WireCodes.KEY_ERROR],
  ];

  it.each(cases)('%s, and the connection carries on', async (_name, body, code) => {
    const { connect } = await setup();
    const c = await connect();
    c.send(frame(typeof body === 'string' ? body : JSON.stringify(body)));
    const e = await c.next();
    expect(e).toMatchObject({ command: 'error', code });
    expect(typeof e.message).toBe('string');
    const seq = typeof body === 'object' && (typeof body.seq === 'number' || typeof body.seq === 'string') ? body.seq : null;
    expect(e.seq).toEqual(seq);
    expect(await c.call(req('count'))).toMatchObject({ command: 'count', code: 0 });
  });

  it('a set that failed did nothing', async () => {
    const { connect } = await setup();
    const c = await connect();
    await c.call({ command: 'set', key: 'k', value: 1, expire: 'x', seq: 1 });
    expect((await c.call(req('get', { key: 'k' }))).value).toBeNull();
  });

  it('a frame shorter than its own header: error 760, closed; other clients carry on', async () => {
    const { connect } = await setup();
    const [bad, good] = [await connect(), await connect()];
    bad.send(Buffer.from([0, 0, 0, 2, 0x7b, 0x7d]));
    expect(await bad.next()).toMatchObject({ command: 'error', code: WireCodes.DATA_ERROR, seq: null });
    await bad.raw.waitClose();
    expect(await good.call(req('count'))).toMatchObject({ code: 0 });
  });

  it('a header announcing 4 GiB: error 740 (maxPacketSize) and closed at once; others carry on', async () => {
    const { connect, listener } = await setup();
    const [bad, good] = [await connect(), await connect()];
    bad.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await bad.next()).toMatchObject({ command: 'error', code: WireCodes.EXCEED_LIMIT, limit: 'maxPacketSize' });
    await bad.raw.waitClose();
    expect(listener.getStats().badPackets).toBe(1);
    expect(await good.call(req('count'))).toMatchObject({ code: 0 });
  });

  it('4 GiB header followed by more bytes: closed, never buffered; others carry on', async () => {
    const { connect } = await setup();
    const [bad, good] = [await connect(), await connect()];
    bad.send(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xfb]), Buffer.alloc(64 * 1024, 0x61)]));
    await bad.raw.waitClose();
    for (const f of bad.frames()) expect(f).toMatchObject({ command: 'error', code: WireCodes.EXCEED_LIMIT });
    expect(await good.call(req('count'))).toMatchObject({ code: 0 });
  });
});

describe('dispatcher wire: limits', () => {
  it('hashSize: a new key over the limit gets 740; overwriting an existing key still works', async () => {
    const { connect } = await setup({ handler: { hashSize: 2 } });
    const c = await connect();
    await c.call(req('set', { key: 'a', value: 1 }));
    await c.call(req('set', { key: 'b', value: 1 }));
    expect(await c.call(req('set', { key: 'c', value: 1 }))).toMatchObject({ command: 'error', code: 740, limit: 'hashSize' });
    expect(await c.call(req('set', { key: 'a', value: 2 }))).toMatchObject({ code: 0 });
    await c.call(req('delete', { key: 'b' }));
    expect(await c.call(req('set', { key: 'c', value: 1 }))).toMatchObject({ code: 0 });
  });

  it('hashSize counts live entries only: an expired entry frees its slot', async () => {
    const { connect } = await setup({ handler: { hashSize: 1 } });
    const c = await connect();
    await c.call(req('set', { key: 'a', value: 1, expire: now() + 0.2 }));
    expect(await c.call(req('set', { key: 'b', value: 1 }))).toMatchObject({ code: 740 });
    await until(async () => (await c.call(req('set', { key: 'b', value: 1 }))).code === 0, 3000, 'slot freed');
  });

  it('queueSize: items per queue; one queue full does not stop another', async () => {
    const { connect } = await setup({ handler: { queueSize: 2 } });
    const c = await connect();
    await c.call(req('qpush', { key: 'q', value: 1 }));
    await c.call(req('qpush', { key: 'q', value: 2 }));
    expect(await c.call(req('qpush', { key: 'q', value: 3 }))).toMatchObject({ command: 'error', code: 740, limit: 'queueSize' });
    expect(await c.call(req('qpush', { key: 'other', value: 3 }))).toMatchObject({ code: 0 });
    expect((await c.call(req('qcount', { key: 'q' }))).value).toBe(2);
  });

  it('maxClients: one connection too many gets 740 and is closed; the others carry on', async () => {
    const { connect, handler } = await setup({ handler: { maxClients: 2 } });
    const [a, b] = [await connect(), await connect()];
    const c = await connect();
    expect(await c.next()).toMatchObject({ command: 'error', code: 740, limit: 'maxClients' });
    await c.raw.waitClose();
    expect(await a.call(req('count'))).toMatchObject({ code: 0 });
    expect(await b.call(req('count'))).toMatchObject({ code: 0 });
    expect(handler.getStats()).toMatchObject({ clients: 2, rejected: 1 });
    a.raw.destroy();
    await until(() => handler.getStats().clients === 1);
    const d = await connect();
    expect(await d.call(req('count'))).toMatchObject({ code: 0 });
  });

  it('maxPacketSize (the parser option): a bigger packet gets 740 and the connection is closed', async () => {
    const { connect } = await setup({ parser: { maxPacketSize: 1024 } });
    const [big, good] = [await connect(), await connect()];
    expect(await big.call(req('set', { key: 'k', value: 'x'.repeat(900) }))).toMatchObject({ code: 0 });
    big.send(req('set', { key: 'k', value: 'x'.repeat(2000) }));
    expect(await big.next()).toMatchObject({ command: 'error', code: 740, limit: 'maxPacketSize' });
    await big.raw.waitClose();
    expect(await good.call(req('count'))).toMatchObject({ code: 0, value: 1 });
  });
});

describe('dispatcher wire: auth', () => {
  it('with a token, anything before auth gets 780 and does nothing; a wrong token 781; the right one opens', async () => {
    const { connect } = await setup({ handler: { token: 's3cret' } });
    const c = await connect();
    expect(await c.call({ command: 'set', key: 'k', value: 1, seq: 1 })).toEqual({
      command: 'error',
      code: WireCodes.AUTH_REQUIRED,
      message: expect.any(String),
      seq: 1,
    });
    expect(await c.call(req('subscribe', { key: 'c' }))).toMatchObject({ code: 780 });
    expect(await c.call(req('auth', { value: 'wrong' }))).toMatchObject({ command: 'error', code: WireCodes.AUTH_FAILED });
    expect(await c.call(req('auth', { value: 12 }))).toMatchObject({ code: 781 });
    expect(await c.call(req('get', { key: 'k' }))).toMatchObject({ code: 780 });
    expect(await c.call(req('auth', { value: 's3cret' }))).toMatchObject({ command: 'auth', code: 0, message: 'ok' });
    expect((await c.call(req('get', { key: 'k' }))).value).toBeNull();
    expect((await c.call(req('subscribe', { key: 'c' }))).key).toEqual(['c']);
    // a failed auth changes nothing, like any failed request
    expect(await c.call(req('auth', { value: 'wrong again' }))).toMatchObject({ code: 781 });
    expect(await c.call(req('count'))).toMatchObject({ code: 0 });
  });

  it('without a token, auth is accepted and nothing else needs it', async () => {
    const { connect } = await setup();
    const c = await connect();
    expect(await c.call(req('count'))).toMatchObject({ code: 0 });
    expect(await c.call(req('auth', { value: 'anything' }))).toMatchObject({ command: 'auth', code: 0 });
  });
});
