/*
 * A hostile client against the HTTP edge, from outside: raw sockets, each exchange bounded by a
 * deadline. Where node:http refuses a request, the same bytes are sent to a node:http server in
 * the same test and both answers are compared.
 */
import * as nodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@beyod/protocols';
import { Cleanup, RawClient } from 'test-helpers';
import { parseResponses, startHttp } from './httpTestUtil';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Answers every request with "METHOD path body" (and the query when asked). */
class Echo extends http.Handler {
  override onRequest(req: http.HttpRequest, res: http.HttpResponse): void {
    res.end(`${req.method} ${req.path} ${req.body.toString('latin1')}`);
  }
}

let nodePort = 0;
let nodeServer: nodeHttp.Server;
beforeAll(async () => {
  nodeServer = nodeHttp.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
  });
  await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
  nodePort = (nodeServer.address() as AddressInfo).port;
});
afterAll(async () => {
  nodeServer.closeAllConnections();
  await new Promise((resolve) => nodeServer.close(resolve));
});

interface Exchange {
  statuses: number[];
  closed: boolean;
  bodies: string[];
}

/** Send `data` (latin1) and wait until `responses` answers arrived or the server closed. */
async function exchange(port: number, data: string, responses: number, ms = 3000): Promise<Exchange> {
  const c = await RawClient.connect({ host: '127.0.0.1', port });
  cleanup.add(c, (x) => x.destroy());
  c.write(Buffer.from(data, 'latin1'));
  try {
    await c.waitUntil((b) => parseResponses(b).length >= responses, ms, `${responses} responses`);
  } catch (e) {
    if (!c.closed) throw e;
  }
  // after a refusal the server closes: wait for it, so "closed" is the server's decision
  if (parseResponses(c.received).some((r) => r.status >= 400)) await c.waitClose(ms);
  const rs = parseResponses(c.received);
  return { statuses: rs.map((r) => r.status), closed: c.closed, bodies: rs.map((r) => r.body.toString('latin1')) };
}

const chunkedPost = (body: string) => `POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
const SECOND = 'GET /second HTTP/1.1\r\nHost: x\r\n\r\n';

describe('strict HTTP/1.1 edge: what node:http refuses is refused (400, then close)', () => {
  it.each([
    ['a bare LF inside a chunk extension', chunkedPost('5;a\nb\r\nhello\r\n0\r\n\r\n')],
    ['NUL and a bare CR inside a chunk extension', chunkedPost('5;\x00\rjunk\r\nhello\r\n0\r\n\r\n')],
    ['whitespace around a chunk extension', chunkedPost('5; a = b \r\nhello\r\n0\r\n\r\n')],
    ['a chunk size with a trailing space', chunkedPost('5 \r\nhello\r\n0\r\n\r\n')],
    ['a chunk size with a trailing tab', chunkedPost('5\t\r\nhello\r\n0\r\n\r\n')],
    ['a trailer line ended by a bare LF, then a second request', chunkedPost(`0\r\nX: 1\n\r\n${SECOND}`)],
    ['a trailer line that is not a field, then a second request', chunkedPost(`0\r\nnot a header\r\n\r\n${SECOND}`)],
    ['a trailer value holding a bare CR, then a second request', chunkedPost(`0\r\nX: 1\r2\r\n\r\n${SECOND}`)],
    ['a bare LF ending the trailers', chunkedPost('0\r\n\n')],
    ['Transfer-Encoding: NBSP chunked', 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: VT chunked', 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: chunked FF', 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n'],
    ['Content-Length: VT 5', 'POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: \x0b5\r\n\r\nhello'],
    ['Transfer-Encoding: chunked, chunked', 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'],
    ['a request target that is not origin-, absolute-, authority- or asterisk-form', 'GET a/b HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('%s', async (_name, data) => {
    const l = await startHttp(cleanup, Echo);
    const [ours, node] = await Promise.all([exchange(l.port, data, 2), exchange(nodePort, data, 2)]);
    expect(node).toEqual({ statuses: [400], closed: true, bodies: [expect.any(String)] });
    expect(ours.statuses).toEqual([400]);
    expect(ours.closed).toBe(true);
  });

  it.each([
    ['a head whose lines end in LF only', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['half a head whose lines end in LF only', 'GET / HTTP/1.1\nHost: x\n'],
    ['a head line holding a bare CR, not finished', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb'],
  ])('%s: 400 at once, not 408 after headerTimeout', async (_name, data) => {
    const l = await startHttp(cleanup, Echo, {}, { class: http.Parser, headerTimeout: 60 });
    const [ours, node] = await Promise.all([exchange(l.port, data, 1), exchange(nodePort, data, 1)]);
    expect(node.statuses).toEqual([400]);
    expect(ours.statuses).toEqual([400]);
    expect(ours.closed).toBe(true);
  });
});

describe('strict HTTP/1.1 edge: beyond node:http, where RFC 9112 says MUST', () => {
  it.each([
    ['two Host headers (node:http accepts)', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['two Host headers of the same value (node:http accepts)', 'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n'],
    ['a Host that is not a host[:port] (node:http accepts)', 'GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n'],
  ])('%s: 400 (RFC 9112 3.2)', async (_name, data) => {
    const l = await startHttp(cleanup, Echo);
    const ours = await exchange(l.port, data, 1);
    expect(ours.statuses).toEqual([400]);
    expect(ours.closed).toBe(true);
  });
});

describe('strict HTTP/1.1 edge: what is valid is still served', () => {
  it.each([
    ['chunk extensions, token and quoted values', chunkedPost('5;a=b;c="d \\"e\\"";f\r\nhello\r\n0\r\n\r\n'), 'POST /c hello'],
    ['trailer fields', chunkedPost('5\r\nhello\r\n0\r\nX-Sum: 1\r\nY:\t2 \r\n\r\n'), 'POST /c hello'],
    ['OWS (space and tab) around a field value', 'POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: \t5 \t\r\n\r\nhello', 'POST /c hello'],
    ['obs-text in a field value, kept as sent', 'GET /v HTTP/1.1\r\nHost: x\r\nX-A: \xa0v\r\n\r\n', 'GET /v '],
    ['an empty Host', 'GET /e HTTP/1.1\r\nHost:\r\n\r\n', 'GET /e '],
    ['a Host with an IPv6 literal and a port', 'GET /6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'GET /6 '],
  ])('%s', async (_name, data, body) => {
    const l = await startHttp(cleanup, Echo);
    const ours = await exchange(l.port, data + SECOND, 2);
    expect(ours.statuses).toEqual([200, 200]);
    expect(ours.bodies).toEqual([body, 'GET /second ']);
  });

  it('absolute-form targets are accepted (RFC 9112 3.2.2): path, query and host come from the target', async () => {
    let seen: Array<[string, string, unknown, string]> = [];
    class Seen extends http.Handler {
      override onRequest(req: http.HttpRequest, res: http.HttpResponse): void {
        seen.push([req.url, req.path, { ...req.query }, req.host]);
        res.end('ok');
      }
    }
    const l = await startHttp(cleanup, Seen);
    const ours = await exchange(
      l.port,
      'GET http://example.com/a/b?c=1 HTTP/1.1\r\nHost: other.example\r\n\r\n' +
        'GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n' +
        'GET /plain?d=2 HTTP/1.1\r\nHost: plain.example\r\n\r\n',
      3,
    );
    expect(ours.statuses).toEqual([200, 200, 200]);
    expect(seen).toEqual([
      ['http://example.com/a/b?c=1', '/a/b', { c: '1' }, 'example.com'],
      ['HTTPS://Example.com:8443', '/', {}, 'Example.com:8443'],
      ['/plain?d=2', '/plain', { d: '2' }, 'plain.example'],
    ]);
    seen = [];
  });
});
