import { http } from '@beyod/protocols';
import * as fc from 'fast-check';
import { LoopHarness, splitAt } from 'test-helpers';
import { parseHead } from '../src/http/head';
import { parseHeadFast } from '../src/http/headFast';

type Req = http.HttpRequest;

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const post = (path: string, body: string, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const chunked = (path: string, chunks: string[]) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
  chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') +
  '0\r\n\r\n';

function parse(data: string | Buffer, parser = new http.Parser()): { h: LoopHarness; reqs: Req[] } {
  const h = new LoopHarness(parser);
  h.push(Buffer.from(data));
  return { h, reqs: h.messages as Req[] };
}

/** The status the parser refused the last request with, if any. */
const refusedWith = (reqs: Req[]) => reqs.find((r) => r._error)?._error?.status;

describe('http parser', () => {
  it('parses the request line, case-insensitive headers, query and a Content-Length body', () => {
    const { reqs } = parse(post('/a/b%20c?x=1&x=2&y=%C3%A9', 'héllo', 'X-Thing: One\r\nCookie: a=1; b=x%20y\r\n'));
    expect(reqs).toHaveLength(1);
    const r = reqs[0] as Req;
    expect([r.method, r.url, r.path, r.httpVersion]).toEqual(['POST', '/a/b%20c?x=1&x=2&y=%C3%A9', '/a/b%20c', '1.1']);
    expect(r.header('x-thing')).toBe('One');
    expect(r.headers.get('X-THING')).toBe('One');
    expect(r.query).toEqual({ x: ['1', '2'], y: 'é' });
    expect(r.cookies).toEqual({ a: '1', b: 'x y' });
    expect(r.text()).toBe('héllo');
    expect(r.keepAlive).toBe(true);
  });

  it('yields every request of a pipelined stream whatever the split (every offset)', () => {
    const stream = Buffer.from(get('/one') + post('/two', 'body two') + chunked('/three', ['ab', 'cdé']) + get('/four'));
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2 += 7) {
        const h = new LoopHarness(new http.Parser());
        for (const c of splitAt(stream, [cut, cut2])) h.push(c);
        const reqs = h.messages as Req[];
        expect(reqs.map((r) => `${r.path}:${r.text()}`)).toEqual(['/one:', '/two:body two', '/three:abcdé', '/four:']);
      }
    }
  });

  it('parses 10,000 pipelined requests from one chunk', () => {
    const { reqs } = parse(Array.from({ length: 10_000 }, (_, i) => get(`/r${i}`)).join(''));
    expect(reqs).toHaveLength(10_000);
    expect(reqs[9999]?.path).toBe('/r9999');
  });

  it('scans a head arriving byte by byte once, and returns the whole length once the head is parsed', () => {
    const p = new http.Parser();
    const h = new LoopHarness(p);
    const req = Buffer.from(post('/x', 'z'.repeat(1000)));
    const head = req.indexOf('\r\n\r\n') + 4;
    let calls = 0;
    const input = p.input.bind(p);
    p.input = (b, c) => {
      calls++;
      return input(b, c);
    };
    for (let i = 0; i < head; i++) h.push(req.subarray(i, i + 1));
    expect(calls).toBe(head);
    h.push(req.subarray(head));
    expect(calls).toBe(head); // the body was never handed to input()
    expect((h.messages[0] as Req).body.length).toBe(1000);
  });

  it('HTTP/1.0 closes unless keep-alive is asked; 1.1 keeps alive unless close is asked', () => {
    const { reqs } = parse(
      'GET / HTTP/1.0\r\n\r\n' +
        'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n' +
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' +
        get('/'),
    );
    expect(reqs.map((r) => r.keepAlive)).toEqual([false, true, false, true]);
  });

  it('tolerates empty lines before a request line', () => {
    const { reqs } = parse(`\r\n\r\n${get('/after-blank')}`);
    expect(reqs[0]?.path).toBe('/after-blank');
  });

  it.each([
    ['no version', 'GET /\r\nHost: x\r\n\r\n', 400],
    ['bad method', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['unknown version', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['no Host in 1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n', 400],
    ['bare LF in a header', 'GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n', 400],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['bad Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 400],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400],
    ['both TE and CL', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['TE not ending with chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 400],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['chunk without CRLF after data', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n', 400],
    ['NUL in target', 'GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ])('refuses %s with %i', (_name, data, status) => {
    const { reqs } = parse(data);
    expect(refusedWith(reqs)).toBe(status);
  });

  it('refuses a head over maxHeaderSize with 431 before the blank line arrives', () => {
    const p = Object.assign(new http.Parser(), { maxHeaderSize: 1024 });
    const h = new LoopHarness(p);
    h.push(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}`));
    expect(refusedWith(h.messages as Req[])).toBe(431);
  });

  it('refuses a Content-Length over maxPacketSize with 413 from the head alone', () => {
    const p = Object.assign(new http.Parser(), { maxPacketSize: 10_000 });
    const { reqs, h } = parse('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4294967296\r\n\r\n', p);
    expect(refusedWith(reqs)).toBe(413);
    expect(h.maxBuffered).toBeLessThan(100);
  });

  it('refuses a chunked body growing over maxPacketSize with 413', () => {
    const p = Object.assign(new http.Parser(), { maxPacketSize: 1000 });
    const { reqs } = parse(
      chunked(
        '/',
        Array.from({ length: 20 }, () => 'x'.repeat(100)),
      ),
      p,
    );
    expect(refusedWith(reqs)).toBe(413);
    const big = parse(
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n`,
      Object.assign(new http.Parser(), { maxPacketSize: 1000 }),
    );
    expect(refusedWith(big.reqs)).toBe(413);
  });

  it('ignores chunk extensions and trailers', () => {
    const { reqs } = parse(
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;name=v\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n' + get('/next'),
    );
    expect(reqs.map((r) => r.text())).toEqual(['abc', '']);
  });

  it('nothing after a refused request is parsed', () => {
    const { reqs, h } = parse('BROKEN\r\n\r\n' + get('/never'));
    expect(reqs).toHaveLength(1);
    expect(refusedWith(reqs)).toBe(400);
    expect(h.bad).toHaveLength(1); // without a handler to stop it, the next input is refused outright
  });

  it('property: random bytes in random splits never throw and never buffer past the limits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 800 }), fc.array(fc.nat(800)), fc.integer({ min: 64, max: 600 }), (bytes, cuts, max) => {
        const p = Object.assign(new http.Parser(), { maxPacketSize: max, maxHeaderSize: 256 });
        const h = new LoopHarness(p);
        for (const c of splitAt(Buffer.from(bytes), cuts)) h.push(c);
        expect(h.maxBuffered).toBeLessThan(max);
        for (const m of h.messages as Req[]) if (!m._error) expect(m.body.length).toBeLessThan(max);
        expect((h.messages as Req[]).filter((m) => m._error).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: random mostly-valid heads with CR, LF and garbage never throw', () => {
    const piece = fc.constantFrom(
      'GET ',
      'POST ',
      '/',
      'a',
      ' HTTP/1.1',
      '\r\n',
      '\r',
      '\n',
      'Host: x',
      'Content-Length: ',
      '5',
      'Transfer-Encoding: chunked',
      '0',
      ':',
      ' ',
      '\0',
      'é',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.nat(300)), (pieces, cuts) => {
        const h = new LoopHarness(Object.assign(new http.Parser(), { maxPacketSize: 4096 }));
        for (const c of splitAt(Buffer.from(pieces.join('')), cuts)) h.push(c);
        expect(h.maxBuffered).toBeLessThan(4096);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: valid requests in random splits come out intact and in order', () => {
    const token = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      path: fc.array(token, { maxLength: 4 }).map((s) => `/${s.join('/')}`),
      headers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,20}$/)), { maxLength: 5 }),
      body: fc.string({ maxLength: 50 }),
      chunkedBody: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(3000)), (reqs, cuts) => {
        const wire = reqs
          .map((r) => {
            const hs = r.headers.map(([k, v]) => `x-${k}: ${v}\r\n`).join('');
            if (r.chunkedBody) {
              const b = Buffer.from(r.body);
              const half = Math.floor(b.length / 2);
              const parts = [b.subarray(0, half), b.subarray(half)].filter((x) => x.length > 0);
              return Buffer.concat([
                Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\nHost: h\r\n${hs}Transfer-Encoding: chunked\r\n\r\n`),
                ...parts.flatMap((x) => [Buffer.from(`${x.length.toString(16)}\r\n`), x, Buffer.from('\r\n')]),
                Buffer.from('0\r\n\r\n'),
              ]);
            }
            return Buffer.from(
              `${r.method} ${r.path} HTTP/1.1\r\nHost: h\r\n${hs}Content-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`,
            );
          })
          .reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0));
        const h = new LoopHarness(new http.Parser());
        for (const c of splitAt(wire, cuts)) h.push(c);
        const got = h.messages as Req[];
        expect(got.map((g) => [g.method, g.path, g.text()])).toEqual(reqs.map((r) => [r.method, r.path, r.body]));
        for (let i = 0; i < reqs.length; i++) {
          for (const [k, v] of (reqs[i] as (typeof reqs)[number]).headers) expect(got[i]?.headers.get(`X-${k}`)).toContain(v.trim());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: the fast head parser accepts only what the general one accepts, with the same result', () => {
    // Pieces of heads, valid and not: every byte class the fast path decides on.
    const piece = fc.constantFrom(
      'GET',
      'get',
      'POST',
      'M-SEARCH',
      ' ',
      '  ',
      '\t',
      '/',
      '/a?b=c',
      '*',
      'http://h/p',
      'é',
      '\x7f',
      '\0',
      ' HTTP/1.1',
      ' HTTP/1.0',
      ' HTTP/1.2',
      ' HTTP/1.10',
      '\r\n',
      '\r',
      '\n',
      'Host: x',
      'HOST: x:80',
      'Host: [::1]:8080',
      'Host: a b',
      'Host:',
      'Content-Length: 5',
      'content-length: 05',
      'Content-Length: 6',
      'Content-Length: 1x',
      'Transfer-Encoding: chunked',
      'Transfer-Encoding: gzip',
      'Connection: close',
      'Connection: Upgrade',
      'Upgrade: WebSocket',
      'Expect: 100-continue',
      'X-A: v ',
      'X-A:\tv\t',
      'X(: v',
      ':',
      ': v',
    );
    const check = (text: string): unknown => {
      const buf = Buffer.from(`${text}\r\n\r\n`, 'latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end <= 0) return;
      let slow: unknown;
      try {
        slow = parseHead(buf, 0, end, end + 4);
      } catch (e) {
        slow = e;
      }
      let fast: unknown;
      try {
        fast = parseHeadFast(buf, 0, buf.length);
      } catch (e) {
        fast = e;
      }
      if (fast !== undefined) expect(fast).toEqual(slow); // the same head, or the same HeadError
      // a head without its last byte is not complete: no answer yet (and no throw)
      expect(parseHeadFast(buf, 0, end + 3)).toBeUndefined();
      return fast;
    };
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        check(pieces.join(''));
      }),
      { numRuns: 5000 },
    );
    // request lines and header lines built from such pieces: the fast path answers often here
    const line = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
    let answered = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('GET /a HTTP/1.1', 'GET /a HTTP/1.0', 'PUT /é HTTP/1.1'),
        fc.array(line, { maxLength: 6 }),
        (first, lines) => {
          if (check([first, ...lines].join('\r\n')) !== undefined) answered++;
        },
      ),
      { numRuns: 5000 },
    );
    expect(answered).toBeGreaterThan(500);
    // and well-formed heads (where the fast path must answer)
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...['Host: x', 'Content-Length: 5', 'Connection: close', 'X-A: v ', 'Cookie: a=1', 'Cookie: b=2']), {
          maxLength: 6,
        }),
        (lines) => {
          const text = ['GET /p?q HTTP/1.1', ...lines].join('\r\n');
          const fast = check(text);
          if (lines.filter((l) => l.startsWith('Host')).length === 1) expect(fast).toHaveProperty('method', 'GET');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('http helpers', () => {
  it('parseRange: single ranges, suffixes, open ends; several ranges are ignored', () => {
    expect(http.parseRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(http.parseRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(http.parseRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(http.parseRange('bytes=50-1000', 100)).toEqual([50, 99]);
    expect(http.parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(http.parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(http.parseRange('items=0-1', 100)).toBeUndefined();
    expect(http.parseRange('bytes=9-1', 100)).toBeUndefined();
  });

  it('cookies: serialize with attributes, refuse header injection, parse back', () => {
    const c = http.serializeCookie('sid', 'a b;c', { maxAge: 60, path: '/', httpOnly: true, sameSite: 'Lax' });
    expect(c).toBe('sid=a%20b%3Bc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax');
    expect(() => http.serializeCookie('bad name', 'x')).toThrow(TypeError);
    expect(() => http.serializeCookie('ok', 'x', { path: '/\r\nX: y' })).toThrow(TypeError);
    expect(http.parseCookies('sid=a%20b%3Bc; other="q"')).toEqual({ sid: 'a b;c', other: 'q' });
  });

  it('mime types with charsets for text', () => {
    expect(http.mimeTypeOf('a/b/index.HTML')).toBe('text/html; charset=utf-8');
    expect(http.mimeTypeOf('x.png')).toBe('image/png');
    expect(http.mimeTypeOf('noext')).toBe('application/octet-stream');
  });
});
