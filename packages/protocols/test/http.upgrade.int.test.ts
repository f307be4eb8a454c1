import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Connection, MessageEvent } from '@beyod/core';
import { frame as framing, http } from '@beyod/protocols';
import { Cleanup, frame, unframe } from 'test-helpers';
import { rawClient, responses, startHttp } from './httpTestUtil';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/**
 * A protocol of its own behind HTTP: `Upgrade: frames` switches the connection to
 * length-prefixed frames (frame.Parser), which are echoed in upper case. Other requests are
 * ordinary HTTP on the same port.
 */
class Switching extends http.Handler {
  readonly frames = new framing.Parser();
  override routes = {
    'GET /page': (_req: http.HttpRequest, res: http.HttpResponse) => res.end('a page'),
    'GET /slow': async (_req: http.HttpRequest, res: http.HttpResponse) => {
      await new Promise((r) => setTimeout(r, 50));
      res.end('slow');
    },
  };

  protected override onUpgrade(req: http.HttpRequest, res: http.HttpResponse, _conn: Connection): boolean {
    if (req.upgrade !== 'frames') return false;
    res.setHeader('X-Switched', 'yes');
    res.switchProtocols('frames', this.frames);
    return true;
  }

  override onMessage(event: MessageEvent): void {
    event.sender.send(Buffer.from(String(event.message)).toString().toUpperCase());
  }
}

const upgradeRequest = 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: frames\r\n\r\n';

/** The bytes after the first response head. */
const afterHead = (b: Buffer) => b.subarray(b.indexOf('\r\n\r\n') + 4);

describe('http: switching a connection to another protocol (101)', () => {
  it('any parser takes the connection over; bytes in the same packet as the request are its', async () => {
    const l = await startHttp(cleanup, Switching);
    const c = await rawClient(cleanup, l);
    c.write(Buffer.concat([Buffer.from(upgradeRequest), frame('one'), frame('two')]));
    await c.waitUntil((b) => unframe(afterHead(b)).length === 2, 3000, 'two frames');
    const head = c.received.toString('latin1', 0, c.received.indexOf('\r\n\r\n') + 2);
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(head).toMatch(/\r\nUpgrade: frames\r\n/);
    expect(head).toMatch(/\r\nConnection: Upgrade\r\n/);
    expect(head).toMatch(/\r\nX-Switched: yes\r\n/);
    expect(head).not.toMatch(/Content-Length/i);
    c.write(frame('three'));
    await c.waitUntil((b) => unframe(afterHead(b)).length === 3, 3000, 'three frames');
    expect(unframe(afterHead(c.received)).map(String)).toEqual(['ONE', 'TWO', 'THREE']);
    // an HTTP-looking frame payload is just a frame now
    c.write(frame('GET / HTTP/1.1'));
    await c.waitUntil((b) => unframe(afterHead(b)).length === 4, 3000, 'four frames');
  });

  it('plain requests on the same port stay HTTP; an Upgrade the handler does not take is a plain request', async () => {
    const l = await startHttp(cleanup, Switching);
    const c = await rawClient(cleanup, l);
    c.write('GET /page HTTP/1.1\r\nHost: x\r\n\r\nGET /page HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n');
    const rs = await responses(c, 2);
    expect(rs.map((r) => [r.status, r.body.toString()])).toEqual([
      [200, 'a page'],
      [200, 'a page'],
    ]);
  });

  it('an upgrade pipelined behind a request not yet answered is answered as a plain request', async () => {
    const l = await startHttp(cleanup, Switching);
    const c = await rawClient(cleanup, l);
    c.write(`GET /slow HTTP/1.1\r\nHost: x\r\n\r\n${upgradeRequest.replace('/x', '/page')}`);
    const rs = await responses(c, 2);
    expect(rs.map((r) => [r.status, r.body.toString()])).toEqual([
      [200, 'slow'],
      [200, 'a page'],
    ]);
    // still HTTP: a third request is answered
    c.write('GET /page HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await responses(c, 3)).toHaveLength(3);
  });

  it('switchProtocols() refuses when the response was already started', async () => {
    let thrown: unknown;
    class Late extends Switching {
      protected override onUpgrade(_req: http.HttpRequest, res: http.HttpResponse): boolean {
        res.write('started');
        try {
          res.switchProtocols('frames', this.frames);
        } catch (e) {
          thrown = e;
        }
        res.end();
        return true;
      }
    }
    const l = await startHttp(cleanup, Late);
    const c = await rawClient(cleanup, l);
    c.write(upgradeRequest);
    const [r] = await responses(c, 1);
    expect([r?.status, r?.body.toString()]).toEqual([200, 'started']);
    expect(String(thrown)).toMatch(/after the response head was sent/);
  });
});

describe('websocket uses the upgrade interface only', () => {
  it('imports nothing of http but its public index', () => {
    const dir = path.join(__dirname, '..', 'src', 'websocket');
    for (const f of fs.readdirSync(dir)) {
      const src = fs.readFileSync(path.join(dir, f), 'utf8');
      const fromHttp = [...src.matchAll(/from '(\.\.\/http[^']*)'/g)].map((m) => m[1]);
      for (const spec of fromHttp) expect(`${f}: ${spec}`).toBe(`${f}: ../http`);
    }
  });
});

describe('http: switching with maxRequestsInFlight 1', () => {
  it('the input held for the bound is released for the new protocol', async () => {
    const l = await startHttp(cleanup, Object.assign(new Switching(), { maxRequestsInFlight: 1 }));
    const c = await rawClient(cleanup, l);
    c.write(upgradeRequest);
    await c.waitUntil((b) => b.includes('\r\n\r\n'), 3000, 'the 101');
    c.write(frame('after'));
    await c.waitUntil((b) => unframe(afterHead(b)).length === 1, 3000, 'one frame');
    expect(unframe(afterHead(c.received)).map(String)).toEqual(['AFTER']);
  });
});
