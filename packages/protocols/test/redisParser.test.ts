import { ErrorCodes } from '@beyod/core';
import { redis } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';

const { RedisErrorCodes, RedisReplyError, RespPush } = redis;
type RespValue = redis.RespValue;

const b = (s: string) => Buffer.from(s, 'latin1');

function parseAll(data: Buffer | string, chunks?: number[], parser = new redis.Parser()): LoopHarness {
  const h = new LoopHarness(parser);
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  for (const c of chunks ? splitAt(buf, chunks) : [buf]) h.push(c);
  return h;
}

/** A reference encoder for replies (the parser under test only encodes commands). */
function encodeReply(v: RespValue): string {
  if (v === null) return '_\r\n';
  if (typeof v === 'string') return `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
  if (typeof v === 'number') return Number.isInteger(v) ? `:${v}\r\n` : `,${v}\r\n`;
  if (typeof v === 'bigint') return `(${v}\r\n`;
  if (typeof v === 'boolean') return `#${v ? 't' : 'f'}\r\n`;
  if (v instanceof RedisReplyError) return `-${v.message}\r\n`;
  if (Array.isArray(v)) return `*${v.length}\r\n${v.map(encodeReply).join('')}`;
  if (v instanceof Map) return `%${v.size}\r\n${[...v].map(([k, x]) => encodeReply(k) + encodeReply(x)).join('')}`;
  if (v instanceof Set) return `~${v.size}\r\n${[...v].map(encodeReply).join('')}`;
  if (v instanceof RespPush) return `>${v.data.length}\r\n${v.data.map(encodeReply).join('')}`;
  throw new Error('unsupported');
}

describe('RESP parser', () => {
  it('decodes every RESP2 type', () => {
    const h = parseAll(
      '+OK\r\n+hello world\r\n-ERR wrong\r\n:42\r\n:-7\r\n$4\r\nhé!\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n',
    );
    expect(h.bad).toEqual([]);
    const [ok, hello, err, i, neg, bulk, empty, nullBulk, nullArr, emptyArr, nested] = h.messages;
    expect([ok, hello, i, neg, bulk, empty, nullBulk, nullArr, emptyArr, nested]).toEqual([
      'OK',
      'hello world',
      42,
      -7,
      'hé!',
      '',
      null,
      null,
      [],
      [1, 'a', ['x', null]],
    ]);
    expect(err).toBeInstanceOf(RedisReplyError);
    expect((err as redis.RedisReplyError).prefix).toBe('ERR');
    expect((err as redis.RedisReplyError).code).toBe(RedisErrorCodes.REPLY);
  });

  it('decodes RESP3 types: null, double, boolean, big number, verbatim, map, set, push, bulk error', () => {
    const h = parseAll(
      '_\r\n,3.25\r\n,inf\r\n,-inf\r\n,nan\r\n#t\r\n#f\r\n(3492890328409238509324850943850943825024385\r\n' +
        '=15\r\ntxt:Some string\r\n%2\r\n+a\r\n:1\r\n$1\r\nb\r\n*1\r\n#t\r\n~2\r\n:1\r\n:2\r\n>3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n' +
        '!21\r\nSYNTAX invalid syntax\r\n',
    );
    expect(h.bad).toEqual([]);
    const m = h.messages;
    expect(m.slice(0, 4)).toEqual([null, 3.25, Infinity, -Infinity]);
    expect(Number.isNaN(m[4])).toBe(true);
    expect(m.slice(5, 9)).toEqual([true, false, 3492890328409238509324850943850943825024385n, 'Some string']);
    expect(m[9]).toEqual(
      new Map<RespValue, RespValue>([
        ['a', 1],
        ['b', [true]],
      ]),
    );
    expect(m[10]).toEqual(new Set([1, 2]));
    expect(m[11]).toBeInstanceOf(RespPush);
    expect((m[11] as redis.RespPush).kind).toBe('message');
    expect((m[11] as redis.RespPush).data).toEqual(['message', 'ch', 'hi']);
    expect(m[12]).toBeInstanceOf(RedisReplyError);
    expect((m[12] as Error).message).toBe('SYNTAX invalid syntax');
  });

  it('drops attributes and keeps the value they annotate, at the top and inside aggregates', () => {
    const h = parseAll(
      '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n*2\r\n|0\r\n:1\r\n|1\r\n+k\r\n+v\r\n:2\r\n',
    );
    expect(h.bad).toEqual([]);
    expect(h.messages).toEqual([
      [2039123, 9543892],
      [1, 2],
    ]);
  });

  it('returns integers past 2^53 as bigint, and safe ones as numbers', () => {
    const h = parseAll(':9223372036854775807\r\n:-9007199254740991\r\n:0000000000000000012\r\n');
    expect(h.messages).toEqual([9223372036854775807n, -9007199254740991, 12]);
  });

  it('decodes bulk strings as Buffers with returnBuffers', () => {
    const p = Object.assign(new redis.Parser(), { returnBuffers: true });
    const h = parseAll(Buffer.concat([b('$3\r\n'), Buffer.from([0, 0xff, 1]), b('\r\n*1\r\n$2\r\nab\r\n+OK\r\n')]), undefined, p);
    expect(h.messages).toEqual([Buffer.from([0, 0xff, 1]), [Buffer.from('ab')], 'OK']);
  });

  it('yields every reply whatever the split (every offset, two cuts)', () => {
    const stream = Buffer.from('+OK\r\n*2\r\n$3\r\nfoo\r\n*2\r\n:1\r\n%1\r\n+k\r\n$-1\r\n$3\r\nbé\r\n-ERR x\r\n>2\r\n+a\r\n_\r\n');
    const expected = parseAll(stream).messages;
    expect(expected).toHaveLength(5);
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 2) {
        const h = parseAll(stream, [cut, cut2]);
        expect(h.bad).toEqual([]);
        expect(h.messages).toEqual(expected);
      }
    }
  });

  it('yields a nested reply split byte by byte', () => {
    const data = Buffer.from('*3\r\n*1\r\n*1\r\n$5\r\nhello\r\n:12\r\n~1\r\n,1.5\r\n');
    const h = new LoopHarness(new redis.Parser());
    for (let i = 0; i < data.length; i++) h.push(data.subarray(i, i + 1));
    expect(h.messages).toEqual([[[['hello']], 12, new Set([1.5])]]);
  });

  it('parses 10,000 pipelined replies from one chunk', () => {
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++)
      parts.push(i % 3 === 0 ? '+OK\r\n' : i % 3 === 1 ? `$${String(i).length}\r\n${i}\r\n` : `*2\r\n:${i}\r\n$-1\r\n`);
    const h = parseAll(parts.join(''));
    expect(h.messages).toHaveLength(10_000);
    expect(h.messages[9998]).toEqual([9998, null]);
    expect(h.messages[9997]).toBe('9997');
  });

  it('knows a top-level bulk string length from its header: input() runs once for 8 MiB in 64 KiB chunks', () => {
    const p = new redis.Parser();
    const spy = jest.spyOn(p, 'input');
    const body = Buffer.alloc(8 * 1024 * 1024, 'x');
    const data = Buffer.concat([b(`$${body.length}\r\n`), body, b('\r\n')]);
    const h = new LoopHarness(p);
    for (let off = 0; off < data.length; off += 65536) h.push(data.subarray(off, off + 65536));
    expect(spy).toHaveBeenCalledTimes(1);
    expect((h.messages[0] as string).length).toBe(body.length);
  });

  it('resumes an array at the element that is incomplete, not at the start of the reply', () => {
    const p = new redis.Parser();
    const h = new LoopHarness(p);
    const big = 'y'.repeat(1_000_000);
    const data = Buffer.from(`*3\r\n$3\r\nfoo\r\n:5\r\n$${big.length}\r\n${big}\r\n`);
    const header = data.indexOf('$1000000');
    h.push(data.subarray(0, header + 100));
    const state = h.parserState as { pos: number; stack: Array<{ items: unknown[] }> };
    expect(state.pos).toBe(header); // the complete elements before it are kept, not rescanned
    expect(state.stack[0]!.items).toEqual(['foo', 5]);
    for (let off = header + 100; off < data.length; off += 4096) {
      h.push(data.subarray(off, off + 4096));
      if (off + 4096 < data.length) expect(state.pos).toBe(header);
    }
    expect(h.messages).toEqual([['foo', 5, big]]);
  });

  it('refuses bytes that are not RESP, with BEYOD_REDIS_PROTOCOL', () => {
    for (const bad of [
      '?what\r\n',
      '$-2\r\n',
      '$3\r\nabcd\r\n',
      '+OK\rX',
      ':12a\r\n',
      '#x\r\n',
      '*1\r\n?\r\n',
      '$1234567890123456\r\n',
      '*-1x',
      '_x\r\n',
      ',1.2.3\r\n',
      '(12x\r\n',
      '=3\r\nabc\r\n',
    ]) {
      const h = parseAll(bad);
      expect([bad, h.bad[0]?.code]).toEqual([bad, RedisErrorCodes.PROTOCOL]);
    }
  });

  it('refuses a bulk header over maxPacketSize before buffering its body', () => {
    const h = parseAll('$999999999999\r\nabc', undefined, Object.assign(new redis.Parser(), { maxPacketSize: 1024 * 1024 }));
    expect(h.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(h.maxBuffered).toBe(0);
  });

  it('encodes commands with byte lengths, numbers and Buffer arguments', () => {
    expect(redis.encodeCommand(['SET', 'k€', 12])).toBe('*3\r\n$3\r\nSET\r\n$4\r\nk€\r\n$2\r\n12\r\n');
    const parts = redis.encodeCommand(['SET', Buffer.from([1, 2]), 'v']) as Array<string | Buffer>;
    expect(Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)))).toEqual(
      Buffer.concat([b('*3\r\n$3\r\nSET\r\n$2\r\n'), Buffer.from([1, 2]), b('\r\n$1\r\nv\r\n')]),
    );
    expect(redis.encodeCommand(['ZADD', 'z', Infinity, 'm'])).toContain('$4\r\n+inf\r\n');
    expect(() => redis.encodeCommand(['SET', 'k', null as unknown as string])).toThrow(
      expect.objectContaining({ code: RedisErrorCodes.BAD_ARGUMENT }),
    );
    expect(() => redis.encodeCommand(['SET', 'k', NaN])).toThrow(expect.objectContaining({ code: RedisErrorCodes.BAD_ARGUMENT }));
  });

  it('reads commands too (a Redis-speaking server can frame with it)', () => {
    const cmd = redis.encodeCommand(['HSET', 'h', 'f', 'välue']) as string;
    expect(parseAll(cmd + cmd, [7]).messages).toEqual([
      ['HSET', 'h', 'f', 'välue'],
      ['HSET', 'h', 'f', 'välue'],
    ]);
  });

  it('property: random bytes in random splits never throw, never buffer past maxPacketSize', () => {
    const typeBytes = fc.constantFrom(...'$!=+-:_,#(*%~>|\r\n0123456789-'.split('').map((c) => c.charCodeAt(0)));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), typeBytes), { maxLength: 600 }),
        fc.array(fc.nat(600)),
        fc.integer({ min: 5, max: 300 }),
        (bytes, cuts, max) => {
          const p = Object.assign(new redis.Parser(), { maxPacketSize: max });
          const h = parseAll(Buffer.from(bytes), cuts, p);
          expect(h.maxBuffered).toBeLessThan(max);
          expect(h.bad.length).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: valid replies in random splits come out intact', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer(),
      fc.constant(null),
      fc.boolean(),
      fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
      fc.double({ noNaN: true, noDefaultInfinity: false }).filter((d) => !Number.isInteger(d)),
      fc.stringMatching(/^[A-Z]{2,8} [a-z ]{0,20}$/).map((s) => new RedisReplyError(s)),
    );
    const { value } = fc.letrec<{ value: RespValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        scalar,
        fc.array(tie('value'), { maxLength: 5 }),
        fc.array(fc.tuple(fc.string({ maxLength: 5 }), tie('value')), { maxLength: 4 }).map((e) => new Map<RespValue, RespValue>(e)),
        fc.uniqueArray(fc.integer(), { maxLength: 4 }).map((e) => new Set<RespValue>(e)),
        fc.array(tie('value'), { maxLength: 3 }).map((e) => new RespPush(e)),
      ),
    }));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), fc.array(fc.nat(3000)), (values, cuts) => {
        const h = parseAll(values.map(encodeReply).join(''), cuts);
        expect(h.bad).toEqual([]);
        expect(h.messages).toEqual(values);
      }),
      { numRuns: 500 },
    );
  });
});
