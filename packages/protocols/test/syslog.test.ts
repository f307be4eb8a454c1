import { ErrorCodes } from '@beyod/core';
import { syslog } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';

const parse = syslog.parse;

function frames(data: string | Buffer, cuts: number[] = [], parser = new syslog.Parser()): LoopHarness {
  const h = new LoopHarness(parser);
  for (const c of splitAt(typeof data === 'string' ? Buffer.from(data) : data, cuts)) h.push(c);
  return h;
}

const octets = (s: string) => `${Buffer.byteLength(s)} ${s}`;

describe('syslog message parsing', () => {
  it('reads RFC 5424 (the RFC examples)', () => {
    const m = parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8");
    expect(m).toEqual({
      facility: 4,
      severity: 2,
      timestamp: new Date('2003-10-11T22:14:15.003Z'),
      hostname: 'mymachine.example.com',
      appName: 'su',
      procId: undefined,
      msgId: 'ID47',
      structuredData: undefined,
      message: "'su root' failed for lonvick on /dev/pts/8",
      raw: expect.any(String),
      format: 'rfc5424',
      error: undefined,
    });
    const noMsg = parse('<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - -');
    expect(noMsg).toMatchObject({ facility: 20, severity: 5, hostname: '192.0.2.1', appName: 'myproc', procId: '8710', error: undefined });
    expect(noMsg.message).toBeUndefined();
    expect(noMsg.timestamp?.toISOString()).toBe('2003-08-24T12:14:15.000Z');
  });

  it('reads RFC 5424 structured data, escapes included', () => {
    const m = parse(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event log entry',
    );
    expect(m.structuredData).toEqual({
      'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
      'examplePriority@32473': { class: 'high' },
    });
    expect(m.message).toBe('An application event log entry');
    expect(parse('<13>1 - - - - - [id@1 a="q\\"b\\\\c\\]d" e=""]').structuredData).toEqual({ 'id@1': { a: 'q"b\\c]d', e: '' } });
  });

  it('reads RFC 3164, with and without hostname and pid', () => {
    const now = new Date(2024, 5, 1, 12, 0, 0);
    const m = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", now);
    expect(m).toMatchObject({ facility: 4, severity: 2, hostname: 'mymachine', appName: 'su', procId: undefined, format: 'rfc3164' });
    expect(m.message).toBe("'su root' failed for lonvick on /dev/pts/8");
    expect(m.timestamp).toEqual(new Date(2023, 9, 11, 22, 14, 15)); // October is after June: last year
    expect(parse('<13>Feb  5 17:32:18 10.0.0.99 myapp[1234]: hello there', now)).toMatchObject({
      timestamp: new Date(2024, 1, 5, 17, 32, 18),
      hostname: '10.0.0.99',
      appName: 'myapp',
      procId: '1234',
      message: 'hello there',
      error: undefined,
    });
    const local = parse('<13>Feb  5 17:32:18 myapp[77]: no host here', now);
    expect(local).toMatchObject({ hostname: undefined, appName: 'myapp', procId: '77', message: 'no host here' });
    expect(parse('<13>2024-03-01T10:00:00.5+02:00 host app: iso stamp')).toMatchObject({
      timestamp: new Date('2024-03-01T08:00:00.500Z'),
      hostname: 'host',
      appName: 'app',
      message: 'iso stamp',
    });
    expect(parse('<13>just some text')).toMatchObject({
      facility: 1,
      severity: 5,
      timestamp: undefined,
      appName: undefined,
      message: 'just some text',
    });
  });

  it('places a year-less RFC 3164 date in the last year at New Year', () => {
    expect(parse('<13>Dec 31 23:59:59 h a: x', new Date(2025, 0, 1, 0, 0, 5)).timestamp).toEqual(new Date(2024, 11, 31, 23, 59, 59));
  });

  it('reports malformed messages instead of failing', () => {
    expect(parse('no pri at all')).toMatchObject({
      format: 'unknown',
      message: 'no pri at all',
      facility: undefined,
      error: expect.stringMatching(/PRI/),
    });
    expect(parse('<192>x').error).toMatch(/PRI/);
    expect(parse('<1a>x').error).toMatch(/PRI/);
    expect(parse('').error).toBe('empty message');
    expect(parse('<13>1 yesterday host app - - - msg')).toMatchObject({
      timestamp: undefined,
      hostname: 'host',
      message: 'msg',
      error: expect.stringMatching(/timestamp/),
    });
    expect(parse('<13>1 2024-01-01T00:00:00Z host').error).toMatch(/header ends/);
    expect(parse('<13>1 - h a p m [broken').error).toMatch(/STRUCTURED-DATA/);
    expect(parse('<13>1 - h a p m oops rest')).toMatchObject({ error: expect.stringMatching(/STRUCTURED-DATA/), message: 'oops rest' });
  });

  it('formats RFC 5424 that parses back to the same fields', () => {
    const input = {
      facility: 16,
      severity: 3,
      timestamp: new Date('2024-05-06T07:08:09.010Z'),
      hostname: 'web-1',
      appName: 'api',
      procId: '42',
      msgId: 'REQ',
      structuredData: { 'meta@1': { path: '/a"b]', user: 'x\\y' } },
      message: 'request failed: é',
    };
    const line = syslog.format(input);
    expect(line).toBe('<131>1 2024-05-06T07:08:09.010Z web-1 api 42 REQ [meta@1 path="/a\\"b\\]" user="x\\\\y"] request failed: é');
    expect(parse(line)).toMatchObject({ ...input, error: undefined, format: 'rfc5424' });
  });
});

describe('syslog parser framing (TCP)', () => {
  const a = '<13>1 - host app - - - first';
  const b = '<14>Feb  5 17:32:18 host app[1]: second é';

  it('frames lines (non-transparent) whatever the split, dropping CR and blank lines', () => {
    const stream = Buffer.from(`${a}\r\n\n\n${b}\n`);
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 5) {
        const h = frames(stream, [cut, cut2]);
        expect(h.bad).toEqual([]);
        expect((h.messages as syslog.SyslogMessage[]).map((m) => m.raw)).toEqual([a, b]);
      }
    }
  });

  it('frames octet counting whatever the split, a stray LF between frames allowed', () => {
    const stream = Buffer.from(`${octets(a)}${octets(`${b}\nwith a newline inside`)}\n${octets(a)}`);
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 7) {
        const h = frames(stream, [cut, cut2]);
        expect(h.bad).toEqual([]);
        expect((h.messages as syslog.SyslogMessage[]).map((m) => m.message)).toEqual(['first', 'second é\nwith a newline inside', 'first']);
      }
    }
  });

  it('parses 10,000 pipelined messages from one chunk in either framing', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `<13>1 - h app ${i} - - m${i}`);
    const nl = frames(lines.join('\n') + '\n');
    const oc = frames(lines.map(octets).join(''));
    expect(nl.messages).toHaveLength(10_000);
    expect(oc.messages).toHaveLength(10_000);
    expect((oc.messages[9999] as syslog.SyslogMessage).procId).toBe('9999');
  });

  it('delivers a malformed line and carries on', () => {
    const h = frames('garbage without pri\n<13>1 - h a - - - fine\n');
    expect(h.bad).toEqual([]);
    expect((h.messages as syslog.SyslogMessage[]).map((m) => [m.error === undefined, m.message])).toEqual([
      [false, 'garbage without pri'],
      [true, 'fine'],
    ]);
  });

  it('refuses broken octet counting (a bad packet), and oversized frames before buffering them', () => {
    expect(frames(`${octets(a)}12x3 oops`).bad[0]?.code).toBe(syslog.SyslogErrorCodes.FRAMING);
    expect(frames('0 ').bad[0]?.code).toBe(syslog.SyslogErrorCodes.FRAMING);
    const big = frames('99999999 <13>', [], Object.assign(new syslog.Parser(), { maxPacketSize: 1024 }));
    expect(big.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(big.maxBuffered).toBe(0);
    const long = frames(Buffer.alloc(5000, 'a'), [1000, 2000, 3000], Object.assign(new syslog.Parser(), { maxPacketSize: 1024 }));
    expect(long.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
  });

  it('honours a forced framing, and frames what it encodes like the connection', () => {
    const forced = Object.assign(new syslog.Parser(), { framing: 'non-transparent' as const });
    expect((frames('5 <13>x\n', [], forced).messages[0] as syslog.SyslogMessage).raw).toBe('5 <13>x');
    const p = new syslog.Parser();
    const h = frames(octets(a), [], p);
    expect(p.encode('<13>1 - - - - - - hi', h)).toBe('20 <13>1 - - - - - - hi');
    const h2 = frames(`${a}\n`, [], p);
    expect(p.encode({ message: 'x', timestamp: new Date(0) }, h2)).toBe('<14>1 1970-01-01T00:00:00.000Z - - - - - x\n');
  });

  it('property: random bytes in random splits never throw, never buffer past maxPacketSize', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(10, 13, 32, 0x30, 0x35, 0x3c, 0x3e)), { maxLength: 600 }),
        fc.array(fc.nat(600)),
        fc.integer({ min: 5, max: 200 }),
        (bytes, cuts, max) => {
          const h = frames(Buffer.from(bytes), cuts, Object.assign(new syslog.Parser(), { maxPacketSize: max }));
          expect(h.maxBuffered).toBeLessThan(max);
          expect(h.bad.length).toBeLessThanOrEqual(1);
          for (const m of h.messages as syslog.SyslogMessage[]) expect(typeof m.raw).toBe('string');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: formatted messages, framed either way, in random splits come out intact', () => {
    const token = fc.stringMatching(/^[!-~]{1,20}$/).filter((s) => s !== '-');
    const msg = fc.record({
      facility: fc.integer({ min: 0, max: 23 }),
      severity: fc.integer({ min: 0, max: 7 }),
      timestamp: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
      hostname: token,
      appName: token,
      procId: token,
      msgId: token,
      structuredData: fc.dictionary(
        fc.stringMatching(/^[a-z]{1,8}@[0-9]{1,5}$/),
        fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 10 })),
        { maxKeys: 2 },
      ),
      message: fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n\0]/g, ' ').trimEnd()),
    });
    fc.assert(
      fc.property(fc.array(msg, { minLength: 1, maxLength: 10 }), fc.boolean(), fc.array(fc.nat(2000)), (msgs, counted, cuts) => {
        const lines = msgs.map(syslog.format);
        const h = frames(counted ? lines.map(octets).join('') : lines.map((l) => `${l}\n`).join(''), cuts);
        expect(h.bad).toEqual([]);
        const got = h.messages as syslog.SyslogMessage[];
        expect(got.map((m) => m.error)).toEqual(msgs.map(() => undefined));
        expect(got.map((m) => m.raw)).toEqual(lines);
        got.forEach((m, i) => {
          const want = msgs[i]!;
          expect(m).toMatchObject({ ...want, structuredData: Object.keys(want.structuredData).length ? want.structuredData : undefined });
        });
      }),
      { numRuns: 300 },
    );
  });
});
