import { once } from 'node:events';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { ErrorEvent } from '@beyod/core';
import { http } from '@beyod/protocols';
import { Cleanup, selfSignedCert, tmpDir, until, waitFor } from 'test-helpers';
import { rawClient, responses, startHttp } from './httpTestUtil';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** An app: a few endpoints, static files otherwise. */
class App extends http.Handler {
  errors: Array<Error & { code?: string }> = [];
  override routes = {
    'GET /users/:id': function (this: http.Handler, req: http.HttpRequest, res: http.HttpResponse) {
      res.json({ id: req.params.id });
    },
    'POST /named': 'named',
  };

  named(_req: http.HttpRequest, res: http.HttpResponse): void {
    res.end('named route');
  }

  override async onRequest(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
    switch (req.path) {
      case '/fast':
        return res.end(`fast ${req.query.n ?? ''}`);
      case '/slow':
        await new Promise((r) => setTimeout(r, 60));
        return res.end(`slow ${req.query.n ?? ''}`);
      case '/echo':
        res.setHeader('X-Method', req.method);
        return res.end(req.body);
      case '/stream':
        res.type('text/plain');
        return res.end(Readable.from(['one ', 'two ', 'three']));
      case '/write':
        res.write('a');
        res.write(Buffer.from('b'));
        return res.end('c');
      case '/cookies':
        res.cookie('sid', 'v 1', { httpOnly: true, path: '/' });
        res.cookie('theme', 'dark');
        return res.end(JSON.stringify(req.cookies));
      case '/body':
        res.body = 'set as a property';
        return;
      case '/form': {
        const form = await req.form();
        const files = await Promise.all(form.files.map(async (f) => ({ ...f, content: await fs.promises.readFile(f.path, 'utf8') })));
        return res.json({ fields: form.fields, files });
      }
      case '/throw':
        throw new Error('boom');
      default:
        return super.onRequest(req, res);
    }
  }

  override onError(e: ErrorEvent): void {
    this.errors.push(e.error);
  }
}

function site(): string {
  const dir = tmpDir('beyod-http-');
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pub = path.join(dir, 'public');
  fs.mkdirSync(path.join(pub, 'sub', 'deeper'), { recursive: true });
  fs.mkdirSync(path.join(pub, 'nolisting'));
  fs.writeFileSync(path.join(pub, 'index.html'), '<h1>home</h1>');
  fs.writeFileSync(path.join(pub, 'style.css'), 'body{}');
  fs.writeFileSync(path.join(pub, 'sub', 'a file.txt'), 'spaced');
  fs.writeFileSync(path.join(pub, 'nolisting', 'x.txt'), 'x');
  fs.writeFileSync(path.join(pub, '.hidden'), 'hidden');
  fs.writeFileSync(path.join(pub, 'big.bin'), Buffer.alloc(300_000, 7));
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'TOP SECRET');
  fs.symlinkSync(path.join(dir, 'secret.txt'), path.join(pub, 'link-out.txt'));
  return dir;
}

async function app(props: Record<string, unknown> = {}, parserProps: Record<string, unknown> = {}) {
  const handler = Object.assign(new App(), { documentRoot: 'public', ...props });
  const l = await startHttp(cleanup, handler, { basePath: site() }, { class: http.Parser, ...parserProps });
  const base = `http://127.0.0.1:${l.port}`;
  return { l, handler, base };
}

describe('http: requests and responses', () => {
  it('keep-alive: several requests on one connection', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('GET /fast?n=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await responses(c, 1);
    c.write('GET /fast?n=2 HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = await responses(c, 2);
    expect(rs.map((r) => r.body.toString())).toEqual(['fast 1', 'fast 2']);
    expect(rs[0]?.headers.connection).toBeUndefined();
    expect(c.closed).toBe(false);
    expect(l.connections.size).toBe(1);
  });

  it("'finish' and 'close' come once, after end(), to listeners added before, just after, or turns later", async () => {
    const seen: string[] = [];
    class Finish extends http.Handler {
      override onRequest(req: http.HttpRequest, res: http.HttpResponse): void {
        if (req.path === '/before') res.on('finish', () => seen.push('before finish')).on('close', () => seen.push('before close'));
        res.end('x');
        seen.push('ended');
        if (req.path === '/after') res.once('finish', () => seen.push('after finish'));
        if (req.path === '/later')
          setTimeout(() => {
            seen.push('later listening');
            res.on('close', () => seen.push('later close'));
          }, 20);
      }
    }
    const l = await startHttp(cleanup, Finish);
    const c = await rawClient(cleanup, l);
    c.write('GET /before HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\n');
    await responses(c, 3);
    await until(() => seen.includes('later close'), 2000, "'close' for a listener added turns after end()");
    await new Promise((r) => setImmediate(r));
    // the three pipelined requests are answered in one turn; the events come on the next one
    expect(seen).toEqual(['ended', 'ended', 'ended', 'before finish', 'before close', 'after finish', 'later listening', 'later close']);
  });

  it('pipelining: responses come back in request order although the first finishes last', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write(['slow?n=1', 'fast?n=2', 'slow?n=3', 'fast?n=4'].map((p) => `GET /${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const rs = await responses(c, 4);
    expect(rs.map((r) => r.body.toString())).toEqual(['slow 1', 'fast 2', 'slow 3', 'fast 4']);
  });

  it('HTTP/1.0: closes after the response unless keep-alive was asked', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [r] = await responses(c, 1);
    expect(r?.headers.connection).toBe('keep-alive');
    c.write('GET /fast HTTP/1.0\r\n\r\n');
    await c.waitClose();
    const rs = await responses(c, 2);
    expect(rs[1]?.headers.connection).toBe('close');
  });

  it('Connection: close answers that request, then closes without reading the ones after it', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitClose();
    const rs = await responses(c, 1);
    expect(rs).toHaveLength(1);
    expect(rs[0]?.body.toString()).toBe('slow ');
  });

  it('Expect: 100-continue gets 100 before the body is sent; over the limit gets 413 instead', async () => {
    const { l } = await app({}, { maxPacketSize: 10_000 });
    const c = await rawClient(cleanup, l);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await c.waitUntil((b) => b.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 2000, '100 Continue');
    c.write('hello');
    const rs = await responses(c, 2);
    expect([rs[0]?.status, rs[1]?.status, rs[1]?.body.toString()]).toEqual([100, 200, 'hello']);

    const big = await rawClient(cleanup, l);
    big.write('POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20000\r\n\r\n');
    await big.waitClose();
    const [r] = await responses(big, 1);
    expect(r?.status).toBe(413);
  });

  it('a chunked request body is reassembled', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    c.write('6\r\n world\r\n0\r\n\r\n');
    const [r] = await responses(c, 1);
    expect(r?.body.toString()).toBe('hello world');
  });

  it('stream bodies and write() are sent chunked; HEAD gets headers only', async () => {
    const { base, l } = await app();
    expect(await (await fetch(`${base}/stream`)).text()).toBe('one two three');
    const w = await fetch(`${base}/write`);
    expect(w.headers.get('transfer-encoding')).toBe('chunked');
    expect(await w.text()).toBe('abc');
    const c = await rawClient(cleanup, l);
    c.write('HEAD /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = await responses(c, 2, 3000, 1);
    expect(rs[0]?.headers['content-length']).toBe('5');
    expect(rs[0]?.body.length).toBe(0);
    expect(rs[1]?.body.toString()).toBe('fast ');
  });

  it('cookies both ways; json; a body set as a property; routes with params and by method name', async () => {
    const { base } = await app();
    const r = await fetch(`${base}/cookies`, { headers: { cookie: 'a=1; b=two%20words' } });
    expect(r.headers.getSetCookie()).toEqual(['sid=v%201; Path=/; HttpOnly', 'theme=dark']);
    expect(await r.json()).toEqual({ a: '1', b: 'two words' });
    expect(await (await fetch(`${base}/body`)).text()).toBe('set as a property');
    expect(await (await fetch(`${base}/users/j%C3%B6rg`)).json()).toEqual({ id: 'jörg' });
    expect(await (await fetch(`${base}/named`, { method: 'POST' })).text()).toBe('named route');
    expect((await fetch(`${base}/named`)).status).toBe(404);
  });

  it('a handler that throws answers 500 and reports BEYOD_HTTP_HANDLER_FAILED; the connection carries on', async () => {
    const { l, handler } = await app();
    const c = await rawClient(cleanup, l);
    c.write('GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = await responses(c, 2);
    expect(rs.map((r) => r.status)).toEqual([500, 200]);
    expect(handler.errors[0]?.code).toBe(http.HttpErrorCodes.HANDLER_FAILED);
  });
});

describe('http: bad input and limits', () => {
  it.each([
    ['malformed request line', 400, 'NONSENSE\r\n\r\n'],
    ['missing Host', 400, 'GET / HTTP/1.1\r\n\r\n'],
    ['Content-Length and Transfer-Encoding', 400, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['header block over maxHeaderSize', 431, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(3000)}\r\n\r\n`],
    ['body over maxPacketSize', 413, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n'],
  ])('%s: answered %i, then that connection closes; others carry on', async (_name, status, data) => {
    const { l } = await app({}, { maxHeaderSize: 2048, maxPacketSize: 10_000 });
    const ok = await rawClient(cleanup, l);
    const bad = await rawClient(cleanup, l);
    bad.write(data);
    await bad.waitClose();
    const [r] = await responses(bad, 1);
    expect(r?.status).toBe(status);
    expect(r?.headers.connection).toBe('close');
    expect(l.getStats().badPackets).toBe(1);
    ok.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await responses(ok, 1))[0]?.status).toBe(200);
  });

  it('a refused request is answered after the responses before it, in order', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nBROKEN LINE\r\n\r\n');
    await c.waitClose();
    const rs = await responses(c, 2);
    expect(rs.map((r) => r.status)).toEqual([200, 400]);
  });

  it('slowloris: a head not finished within headerTimeout gets 408 and is closed', async () => {
    const { l } = await app({}, { headerTimeout: 0.3 });
    const c = await rawClient(cleanup, l);
    c.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const t0 = Date.now();
    const drip = setInterval(() => c.socket.writable && c.write('a'), 50);
    cleanup.defer(() => clearInterval(drip));
    await c.waitClose(3000);
    clearInterval(drip);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const [r] = await responses(c, 1);
    expect(r?.status).toBe(408);
  });

  it('slow body: a request whose body is not complete within requestTimeout gets 408 and is closed', async () => {
    const { l } = await app({}, { requestTimeout: 0.4, headerTimeout: 5 });
    const c = await rawClient(cleanup, l);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => c.socket.writable && c.write('a'), 50);
    cleanup.defer(() => clearInterval(drip));
    await c.waitClose(3000);
    clearInterval(drip);
    const [r] = await responses(c, 1);
    expect(r?.status).toBe(408);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeout', async () => {
    const { l } = await app({}, { keepAliveTimeout: 0.3 });
    const c = await rawClient(cleanup, l);
    c.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await responses(c, 1);
    await c.waitClose(3000);
    const silent = await rawClient(cleanup, l);
    await silent.waitClose(3000);
    expect(silent.received.length).toBe(0);
  });

  it('an answer slower than keepAliveTimeout is not cut by the keep-alive deadline armed before its request', async () => {
    class Slow extends http.Handler {
      override async onRequest(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
        if (req.path === '/slow') await new Promise((r) => setTimeout(r, 500));
        res.end(req.path);
      }
    }
    const l = await startHttp(cleanup, Slow, {}, { class: http.Parser, keepAliveTimeout: 0.2 });
    const c = await rawClient(cleanup, l);
    c.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    await responses(c, 1);
    // at once: the keep-alive deadline the first answer armed passes while this one is worked on
    c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = await responses(c, 2, 3000);
    expect(rs.map((r) => r.body.toString())).toEqual(['/fast', '/slow']);
    await c.waitClose(3000); // then idle for keepAliveTimeout: closed
  });

  it('a client that disconnects mid-request leaves the server serving others', async () => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
    c.destroy();
    await until(() => l.connections.size === 0);
    const ok = await rawClient(cleanup, l);
    ok.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await responses(ok, 1))[0]?.status).toBe(200);
  });
});

describe('http: backpressure and TLS', () => {
  it('a streamed body waits for a slow reader instead of filling memory', async () => {
    const total = 48 * 1024 * 1024;
    let produced = 0;
    class Big extends http.Handler {
      override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
        const chunk = Buffer.alloc(64 * 1024, 1);
        res.setHeader('Content-Length', total);
        res.end(
          new Readable({
            read() {
              produced += chunk.length;
              this.push(produced <= total ? chunk : null);
            },
          }),
        );
      }
    }
    const l = await startHttp(cleanup, Big, { maxSendBuffer: 256 * 1024 });
    const socket = net.connect({ host: '127.0.0.1', port: l.port });
    cleanup.add(socket, (s) => s.destroy());
    await waitFor(socket, 'connect');
    socket.pause();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => produced > 0);
    // wait until the producer stalls (backpressure engaged): unchanged over 20 polls in a row
    let last = -1;
    let same = 0;
    await until(
      () => {
        same = produced === last ? same + 1 : 0;
        last = produced;
        return same >= 20;
      },
      10_000,
      'the stream to stall',
    );
    // What is in flight is the kernel's socket buffers plus at most about maxSendBuffer.
    expect(produced).toBeLessThan(total / 2);
    expect([...l.connections.values()][0]?.sendBufferLength ?? 0).toBeLessThan(1024 * 1024);
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await until(() => received > total, 20_000, 'the whole body');
  });

  it('HTTPS through a tls:// listener', async () => {
    const { key, cert } = selfSignedCert();
    const l = await startHttp(cleanup, App, { listen: 'tls://127.0.0.1:0', tls: { key, cert } });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: l.port, path: '/fast?n=tls', ca: cert, servername: 'localhost', agent: false }, (res) => {
          let data = '';
          res.on('data', (d: Buffer) => (data += String(d)));
          res.on('end', () => resolve(data));
        })
        .on('error', reject);
    });
    expect(body).toBe('fast tls');
  });
});

describe('http: static files', () => {
  it('index file, mime types, 404, directory redirect, listing on and off', async () => {
    const { base } = await app({ directoryListing: true });
    const home = await fetch(`${base}/`);
    expect([home.status, home.headers.get('content-type'), await home.text()]).toEqual([200, 'text/html; charset=utf-8', '<h1>home</h1>']);
    expect((await fetch(`${base}/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await (await fetch(`${base}/sub/a%20file.txt`)).text()).toBe('spaced');
    expect((await fetch(`${base}/missing.txt`)).status).toBe(404);
    const redirect = await fetch(`${base}/sub?x=1`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/sub/?x=1']);
    const listing = await (await fetch(`${base}/sub/`)).text();
    expect(listing).toContain('<a href="a%20file.txt">a file.txt</a>');
    expect(listing).toContain('<a href="deeper/">deeper/</a>');
    expect(listing).not.toContain('.hidden');

    const { base: noList } = await app({ directoryListing: false });
    expect((await fetch(`${noList}/nolisting/`)).status).toBe(403);
  });

  it('ETag and Last-Modified give 304; Range gives 206 and 416', async () => {
    const { base } = await app();
    const first = await fetch(`${base}/style.css`);
    const etag = first.headers.get('etag') as string;
    const lastModified = first.headers.get('last-modified') as string;
    expect(etag).toMatch(/^W\/"/);
    expect((await fetch(`${base}/style.css`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${base}/style.css`, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
    expect((await fetch(`${base}/style.css`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    const part = await fetch(`${base}/style.css`, { headers: { range: 'bytes=1-3' } });
    expect([part.status, part.headers.get('content-range'), await part.text()]).toEqual([206, 'bytes 1-3/6', 'ody']);
    const tail = await fetch(`${base}/big.bin`, { headers: { range: 'bytes=-10' } });
    expect([tail.status, (await tail.arrayBuffer()).byteLength]).toEqual([206, 10]);
    const none = await fetch(`${base}/style.css`, { headers: { range: 'bytes=100-' } });
    expect([none.status, none.headers.get('content-range')]).toEqual([416, 'bytes */6']);
    const stale = await fetch(`${base}/style.css`, { headers: { range: 'bytes=1-3', 'if-range': '"stale"' } });
    expect(stale.status).toBe(200);
    const big = Buffer.from(await (await fetch(`${base}/big.bin`)).arrayBuffer());
    expect(big.equals(Buffer.alloc(300_000, 7))).toBe(true);
    expect((await fetch(`${base}/style.css`, { method: 'POST' })).status).toBe(405);
  });

  it.each([
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt',
    '/sub/..%2f..%2fsecret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/%252e%252e/secret.txt',
    '/..%5csecret.txt',
    '/sub/..%5c..%5csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/..%c0%afsecret.txt',
    '/%00/../secret.txt',
    '/link-out.txt',
    '/.hidden',
  ])('no path traversal: %s', async (target) => {
    const { l } = await app();
    const c = await rawClient(cleanup, l);
    c.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const [r] = await responses(c, 1);
    expect([400, 403, 404]).toContain(r?.status);
    expect(r?.body.toString()).not.toContain('SECRET');
    expect(r?.body.toString()).not.toContain('hidden');
  });
});

describe('http: forms', () => {
  it('urlencoded and multipart bodies, uploads written to the upload dir and removed after the response', async () => {
    const { base, handler } = await app();
    const uploads = tmpDir('beyod-uploads-');
    cleanup.defer(() => fs.rmSync(uploads, { recursive: true, force: true }));
    handler.uploadDir = uploads;
    const url = await fetch(`${base}/form`, { method: 'POST', body: new URLSearchParams({ a: '1', b: 'é' }) });
    expect(await url.json()).toEqual({ fields: { a: '1', b: 'é' }, files: [] });

    const fd = new FormData();
    fd.append('name', 'Zoë');
    fd.append('tags', 'x');
    fd.append('tags', 'y');
    fd.append('doc', new Blob(['file body'], { type: 'text/plain' }), 'notes.txt');
    fd.append('bin', new Blob([new Uint8Array([0, 13, 10, 45, 45])]), '../../evil.bin');
    const r = (await (await fetch(`${base}/form`, { method: 'POST', body: fd })).json()) as {
      fields: unknown;
      files: Array<{ field: string; filename: string; size: number; content: string; path: string; type: string }>;
    };
    expect(r.fields).toEqual({ name: 'Zoë', tags: ['x', 'y'] });
    expect(r.files.map((f) => [f.field, f.filename, f.size, f.type])).toEqual([
      ['doc', 'notes.txt', 9, 'text/plain'],
      ['bin', 'evil.bin', 5, 'application/octet-stream'],
    ]);
    expect(r.files[0]?.content).toBe('file body');
    expect(path.dirname(r.files[0]?.path ?? '')).toBe(fs.realpathSync(uploads));
    await until(() => fs.readdirSync(uploads).length === 0, 3000, 'uploads removed');
  });

  it('an upload over maxFileSize is answered 413; a malformed multipart body 400', async () => {
    const { base } = await app({ maxFileSize: 10 });
    const fd = new FormData();
    fd.append('doc', new Blob(['x'.repeat(100)]), 'big.txt');
    expect((await fetch(`${base}/form`, { method: 'POST', body: fd })).status).toBe(413);
    const bad = await fetch(`${base}/form`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zzz' },
      body: '--zzz\r\nno headers end',
    });
    expect(bad.status).toBe(400);
  });
});

describe('http: the protocol part runs however the application defines its handler methods', () => {
  it('class-field onConnect, onMessage and onClose keep the keep-alive clock, request handling and the close cleanup', async () => {
    let streamClosed = false;
    const seen: string[] = [];
    class Fields extends http.Handler {
      override onConnect = (): void => void seen.push('connect');
      override onMessage = (): void => void seen.push('message');
      override onClose = (): void => void seen.push('close');
      override onRequest(req: http.HttpRequest, res: http.HttpResponse): void {
        if (req.path !== '/endless') return res.end('plain');
        const endless = new Readable({ read: () => void endless.push(Buffer.alloc(16 * 1024, 1)) });
        endless.on('close', () => (streamClosed = true));
        res.end(endless);
      }
    }
    const l = await startHttp(cleanup, Fields, {}, { class: http.Parser, keepAliveTimeout: 0.3 });
    // requests are answered, and never reach the application's onMessage
    const c = await rawClient(cleanup, l);
    c.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await responses(c, 1))[0]?.body.toString()).toBe('plain');
    // the keep-alive clock armed on connect still closes an idle connection
    await c.waitClose(3000);
    // the close cleanup still stops a response's stream when its client goes away
    const s = await rawClient(cleanup, l);
    s.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n');
    await s.waitBytes(64 * 1024);
    s.destroy();
    await until(() => streamClosed, 3000, 'the stream destroyed');
    expect(seen.filter((e) => e === 'message')).toEqual([]);
    expect(seen.filter((e) => e === 'close')).toHaveLength(2);
  });

  it('an onClose given in the config ({ class, onClose }) is called, and the cleanup still runs', async () => {
    const closes: string[] = [];
    let streamClosed = false;
    class Endless extends http.Handler {
      override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
        const endless = new Readable({ read: () => void endless.push(Buffer.alloc(16 * 1024, 1)) });
        endless.on('close', () => (streamClosed = true));
        res.end(endless);
      }
    }
    const l = await startHttp(cleanup, { class: Endless, onClose: (e: { reason: string }) => closes.push(e.reason) });
    const s = await rawClient(cleanup, l);
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await s.waitBytes(64 * 1024);
    s.destroy();
    await until(() => streamClosed && closes.length === 1, 3000, 'the stream destroyed and onClose called');
  });
});

describe('http: backpressure as a node Writable (write() false, then drain; pipe)', () => {
  /** A client that does not read until told; counts body bytes once it does. */
  async function lateReader(port: number, request: string) {
    const socket = net.connect({ host: '127.0.0.1', port });
    cleanup.add(socket, (s) => s.destroy());
    await waitFor(socket, 'connect');
    socket.pause();
    socket.write(request);
    let received = 0;
    let tail = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      received += d.length;
      tail = Buffer.concat([tail, d]).subarray(-16);
    });
    return { socket, received: () => received, ended: () => tail.toString().endsWith('0\r\n\r\n') };
  }

  /** Wait until `value()` has not changed over 20 polls in a row (the producer stalled). */
  const stalled = (value: () => number) => {
    let last = -1;
    let same = 0;
    return until(
      () => {
        same = value() === last ? same + 1 : 0;
        last = value();
        return same >= 20;
      },
      10_000,
      'the producer to stall',
    );
  };

  it("res.write() returns false when the connection is full, and the response emits 'drain' when it may go on", async () => {
    const total = 32 * 1024 * 1024;
    let written = 0;
    let falses = 0;
    let drains = 0;
    class Writer extends http.Handler {
      override async onRequest(_req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
        const chunk = Buffer.alloc(64 * 1024, 7);
        res.on('drain', () => drains++);
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            falses++;
            await once(res, 'drain');
          }
        }
        res.end();
      }
    }
    const l = await startHttp(cleanup, Writer, { maxSendBuffer: 256 * 1024 });
    const c = await lateReader(l.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await stalled(() => written);
    // the writer waits (on 'drain') while the client reads nothing: what is in flight is the
    // kernel's socket buffers plus about maxSendBuffer
    expect(falses).toBeGreaterThan(0);
    expect(written).toBeLessThan(total / 2);
    c.socket.resume();
    await until(() => c.ended(), 30_000, 'the whole body');
    expect(drains).toBe(falses);
    expect(c.received()).toBeGreaterThan(total);
  });

  it('readable.pipe(res) honours backpressure and ends the response (the handler does not end it first)', async () => {
    const total = 32 * 1024 * 1024;
    let produced = 0;
    class Piper extends http.Handler {
      override onRequest(_req: http.HttpRequest, res: http.HttpResponse): void {
        const chunk = Buffer.alloc(64 * 1024, 3);
        new Readable({
          read() {
            produced += chunk.length;
            this.push(produced <= total ? chunk : null);
          },
        }).pipe(res);
      }
    }
    const l = await startHttp(cleanup, Piper, { maxSendBuffer: 256 * 1024 });
    const c = await lateReader(l.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await stalled(() => produced);
    expect(produced).toBeLessThan(total / 2);
    c.socket.resume();
    await until(() => c.ended(), 30_000, 'the whole body');
    expect(c.received()).toBeGreaterThan(total);
  });

  it('pipelined requests in flight are bounded by maxRequestsInFlight: the connection stops reading, then answers them all in order', async () => {
    let open = false;
    const held: Array<() => void> = [];
    let started = 0;
    class Slow extends http.Handler {
      override maxRequestsInFlight = 8;
      override async onRequest(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
        started++;
        if (!open) await new Promise<void>((r) => held.push(r));
        res.end(`n=${String(req.query.n)}`);
      }
    }
    const l = await startHttp(cleanup, Slow);
    const c = await rawClient(cleanup, l);
    c.write(Array.from({ length: 200 }, (_, i) => `GET /?n=${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await until(() => started >= 8, 3000, '8 requests started');
    await new Promise((r) => setImmediate(r));
    const conn = [...l.connections.values()][0];
    expect(started).toBe(8);
    expect(conn?.isPaused).toBe(true);
    expect(conn?.receiveBufferLength).toBeGreaterThan(0);
    open = true;
    for (const release of held.splice(0)) release();
    const rs = await responses(c, 200, 10_000);
    expect(rs.map((r) => r.body.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `n=${i}`));
  });
});

describe('http: a streamed body never breaks the framing of the next response', () => {
  class Lengths extends http.Handler {
    errors: string[] = [];
    override async onRequest(req: http.HttpRequest, res: http.HttpResponse): Promise<void> {
      res.setHeader('Content-Length', 10);
      if (req.path === '/short') {
        res.write('12345');
        await new Promise((r) => setImmediate(r));
        return res.end();
      }
      res.write('123');
      res.write('4567890ABC'); // past Content-Length: throws, nothing of it is sent
    }
    override onError(e: ErrorEvent): void {
      this.errors.push(e.error.message);
    }
  }

  it('a body shorter than its Content-Length closes the connection after it; requests behind it are not answered', async () => {
    const l = await startHttp(cleanup, Lengths);
    const c = await rawClient(cleanup, l);
    c.write('GET /short HTTP/1.1\r\nHost: x\r\n\r\nGET /short HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitClose();
    const text = c.received.toString();
    expect(text.split('HTTP/1.1 200').length).toBe(2);
    expect(text.endsWith('\r\n\r\n12345')).toBe(true);
  });

  it('a write() past Content-Length throws: its bytes are never sent, the connection is cut', async () => {
    const l = await startHttp(cleanup, Lengths);
    const h = l.handlerInstance as Lengths;
    const c = await rawClient(cleanup, l);
    c.write('GET /long HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitClose();
    expect(c.received.toString()).not.toContain('4567890ABC');
    expect(h.errors.join()).toMatch(/past Content-Length/);
  });
});
