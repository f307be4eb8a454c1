import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {
  Application,
  type CloseEvent,
  type Connection,
  type ErrorEvent,
  ErrorCodes,
  Handler,
  type IOEvent,
  Listener,
  type MessageEvent,
  StreamClient,
  inject,
  injectable,
} from '@beyod/core';
import { frame, text } from '@beyod/protocols';
import {
  Cleanup,
  RawClient,
  startListener as listenOn,
  frame as mkFrame,
  selfSignedCert,
  tmpDir,
  unframe,
  until,
  waitFor,
} from 'test-helpers';

class Echo extends Handler {
  override onMessage(e: MessageEvent): void {
    e.sender.send(e.message);
  }
}

/** Records every handler event, in order. */
class Recorder extends Echo {
  events: string[] = [];
  errors: Array<Error & { code?: string }> = [];
  bad: Array<Error & { code?: string }> = [];
  closes: CloseEvent[] = [];
  override onConnect(e: IOEvent): void {
    this.events.push(`connect ${e.sender.id}`);
  }
  override onClose(e: CloseEvent): void {
    this.closes.push(e);
    this.events.push(`close ${e.sender.id} ${e.reason}`);
  }
  override onError(e: ErrorEvent): void {
    this.errors.push(e.error);
  }
  override onBadPacket(e: ErrorEvent): void {
    this.bad.push(e.error);
  }
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function startListener(props: Partial<Listener> & { listen?: string }): Promise<Listener> {
  return listenOn(cleanup, { handler: Echo, parser: frame.Parser, ...props });
}

async function client(l: Listener): Promise<RawClient> {
  const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
  cleanup.add(c, (x) => x.destroy());
  return c;
}

describe('Listener: echo over every transport', () => {
  it('tcp: frames echo, split byte by byte and many in one write', async () => {
    const l = await startListener({});
    const c = await client(l);
    const one = mkFrame('byte by byte');
    for (const b of one) c.write(Buffer.from([b]));
    await c.waitBytes(one.length);
    const many = Buffer.concat(Array.from({ length: 1000 }, (_, i) => mkFrame(`m${i}`)));
    c.write(many);
    await c.waitBytes(one.length + many.length);
    const got = unframe(c.received).map(String);
    expect(got[0]).toBe('byte by byte');
    expect(got.slice(1)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    const s = l.getStats();
    expect(s).toMatchObject({ accepted: 1, connections: 1, messagesIn: 1001, messagesOut: 1001 });
    expect(s.bytesIn).toBe(one.length + many.length);
  });

  it("what a read's handlers send is written in one write, before that read's 'data' event is over", async () => {
    const l = await startListener({});
    const c = await client(l);
    c.write(mkFrame('first'));
    await c.waitBytes(9);
    const conn = [...l.connections.values()][0]!;
    const socket = conn.rawSocket!;
    // system calls: a write, or the writes between a cork() and its uncork() (one writev)
    let writes = 0;
    let corked = false;
    const s = socket as unknown as Record<'write' | 'cork' | 'uncork', (...a: unknown[]) => unknown>;
    const [write, cork, uncork] = [s.write, s.cork, s.uncork].map((f) => f.bind(socket));
    s.write = (...a) => {
      if (!corked) writes++;
      return write!(...a);
    };
    s.cork = () => {
      corked = true;
      writes++;
      return cork!();
    };
    s.uncork = () => {
      corked = false;
      return uncork!();
    };
    // a listener added after the connection's own runs after it, in the same emit
    const seen: number[] = [];
    socket.on('data', () => seen.push(writes));
    const many = Buffer.concat(Array.from({ length: 50 }, (_, i) => mkFrame(`m${i}`)));
    c.write(many);
    await c.waitBytes(9 + many.length);
    expect(unframe(c.received).map(String).slice(1)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    // every read was answered within its own 'data' event, in one system call (however the kernel split the 50 frames)
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual(seen.map((_, i) => i + 1));
    expect(writes).toBe(seen.length);
  });

  it('tcp over IPv6 ([::1])', async () => {
    const l = await startListener({ listen: 'tcp://[::1]:0' });
    expect(l.address).toMatch(/^\[::1\]:\d+$/);
    const c = await RawClient.connect({ host: '::1', port: l.port });
    cleanup.add(c, (x) => x.destroy());
    c.write(mkFrame('six'));
    expect(unframe(await c.waitBytes(7)).map(String)).toEqual(['six']);
  });

  it('tls: echo with a self-signed certificate', async () => {
    const { key, cert } = selfSignedCert();
    const rec = new Recorder();
    const l = await startListener({ listen: 'tls://127.0.0.1:0', tls: { key, cert }, handler: rec });
    const socket = tls.connect({ host: '127.0.0.1', port: l.port, ca: cert, servername: 'localhost' });
    cleanup.add(socket, (s) => s.destroy());
    await waitFor(socket, 'secureConnect');
    const c = RawClient.wrap(socket);
    c.write(mkFrame('secret'));
    expect(unframe(await c.waitBytes(10)).map(String)).toEqual(['secret']);
    expect(rec.events[0]).toMatch(/^connect/);
  });

  it('tls: key and cert may be file paths relative to the app directory', async () => {
    const dir = tmpDir();
    cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { key, cert } = selfSignedCert();
    fs.writeFileSync(path.join(dir, 'k.pem'), key);
    fs.writeFileSync(path.join(dir, 'c.pem'), cert);
    const l = await startListener({ listen: 'ssl://127.0.0.1:0', basePath: dir, tls: { key: 'k.pem', cert: 'c.pem' } });
    const socket = tls.connect({ host: '127.0.0.1', port: l.port, ca: cert, servername: 'localhost' });
    cleanup.add(socket, (s) => s.destroy());
    await waitFor(socket, 'secureConnect');
  });

  it('tls: a garbage handshake closes that connection only', async () => {
    const { key, cert } = selfSignedCert();
    const rec = new Recorder();
    const l = await startListener({ listen: 'tls://127.0.0.1:0', tls: { key, cert }, handler: rec });
    const good = tls.connect({ host: '127.0.0.1', port: l.port, ca: cert, servername: 'localhost' });
    cleanup.add(good, (s) => s.destroy());
    await waitFor(good, 'secureConnect');
    const bad = await client(l);
    bad.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'garbage'.repeat(100));
    await bad.waitClose();
    expect(rec.errors.some((e) => /ssl|tls|wrong version|http request/i.test(e.message))).toBe(true);
    const c = RawClient.wrap(good);
    c.write(mkFrame('still here'));
    expect(unframe(await c.waitBytes(14)).map(String)).toEqual(['still here']);
  });

  it('unix: echo, and a stale socket file left by a dead process is replaced', async () => {
    const dir = tmpDir();
    cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'echo.sock');
    // a stale socket file: its server was killed with SIGKILL and never unlinked it
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`]);
    await waitFor(child.stdout, 'data', 5000);
    child.kill('SIGKILL');
    await waitFor(child, 'exit');
    expect(fs.existsSync(file)).toBe(true);
    const l = await startListener({ listen: `unix://${file}`, parser: text.Parser });
    const c = await RawClient.connect({ path: file });
    cleanup.add(c, (x) => x.destroy());
    c.write('hello\nworld\n');
    expect(await c.waitLines(2)).toEqual(['hello', 'world']);
    // a live socket is not taken over
    await expect(startListener({ listen: `unix://${file}` })).rejects.toMatchObject({ code: ErrorCodes.LISTEN_FAILED });
    await until(() => l.connections.size === 1); // the liveness probe came and went
    c.write('still\n');
    expect(await c.waitLines(3)).toEqual(['hello', 'world', 'still']);
  });

  it('udp: each datagram is a message; send() answers the sender', async () => {
    const l = await startListener({ listen: 'udp://127.0.0.1:0', parser: text.Parser });
    const sock = dgram.createSocket('udp4');
    cleanup.add(sock, (s) => s.close());
    const got: string[] = [];
    sock.on('message', (m) => got.push(String(m)));
    sock.send('ping\n', l.port, '127.0.0.1');
    sock.send('pong\n', l.port, '127.0.0.1');
    await until(() => got.length === 2);
    expect(got.sort()).toEqual(['ping\n', 'pong\n']);
    // a datagram the parser refuses is dropped; the listener carries on
    sock.send('no newline', l.port, '127.0.0.1');
    sock.send('after\n', l.port, '127.0.0.1');
    await until(() => got.length === 3);
    expect(got[2]).toBe('after\n');
    expect(l.getStats().badPackets).toBe(1);
  });
});

describe('Listener: bad input', () => {
  it('a packet over maxPacketSize closes that connection only', async () => {
    const rec = new Recorder();
    const l = await startListener({ handler: rec, parser: { class: frame.Parser, maxPacketSize: 1024 } });
    const ok = await client(l);
    const bad = await client(l);
    bad.write(mkFrame(Buffer.alloc(2000)));
    await bad.waitClose();
    expect(rec.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    await until(() => rec.closes.find((c) => c.reason === 'bad-packet'));
    ok.write(mkFrame('fine'));
    expect(unframe(await ok.waitBytes(8)).map(String)).toEqual(['fine']);
  });

  it('a 4 GiB length header is refused at once', async () => {
    const rec = new Recorder();
    const l = await startListener({ handler: rec });
    const bad = await client(l);
    bad.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await bad.waitClose();
    expect(rec.bad[0]?.code).toBe(ErrorCodes.PACKET_TOO_LARGE);
    expect(l.getStats().badPackets).toBe(1);
  });

  it('answers to the packets before a bad one still reach the peer, then it is closed', async () => {
    const l = await startListener({});
    const c = await client(l);
    c.write(Buffer.concat([mkFrame('one'), mkFrame('two'), Buffer.from([0xff, 0xff, 0xff, 0xff]), mkFrame('never')]));
    await c.waitClose();
    expect(unframe(c.received).map(String)).toEqual(['one', 'two']);
  });

  it('a parser that throws is a bad packet for that connection', async () => {
    class Picky extends frame.Parser {
      override decode(packet: Buffer): Buffer {
        if (packet.includes('boom')) throw new Error('boom is not allowed');
        return super.decode(packet, undefined as never) as Buffer;
      }
    }
    const rec = new Recorder();
    const l = await startListener({ handler: rec, parser: Picky });
    const ok = await client(l);
    const bad = await client(l);
    bad.write(mkFrame('boom'));
    await bad.waitClose();
    expect(rec.bad[0]?.message).toMatch('boom is not allowed');
    ok.write(mkFrame('ok'));
    await ok.waitBytes(6);
  });

  it('a peer that resets mid-packet: onError/onClose for it, the others carry on', async () => {
    const rec = new Recorder();
    const l = await startListener({ handler: rec });
    const ok = await client(l);
    const bad = await client(l);
    bad.write(mkFrame(Buffer.alloc(5000)).subarray(0, 3000));
    await until(() => l.getStats().bytesIn >= 3000);
    bad.socket.resetAndDestroy();
    await until(() => rec.closes.length === 1);
    expect(l.connections.size).toBe(1);
    ok.write(mkFrame('alive'));
    expect(unframe(await ok.waitBytes(9)).map(String)).toEqual(['alive']);
  });

  it('a handler that throws reports onError and keeps the connection', async () => {
    class Thrower extends Recorder {
      override onMessage(e: MessageEvent): void | Promise<void> {
        if (String(e.message) === 'throw') throw new Error('sync failure');
        if (String(e.message) === 'reject') return Promise.reject(new Error('async failure'));
        super.onMessage(e);
      }
    }
    const h = new Thrower();
    const l = await startListener({ handler: h });
    const c = await client(l);
    c.write(Buffer.concat([mkFrame('throw'), mkFrame('reject'), mkFrame('after')]));
    expect(unframe(await c.waitBytes(9)).map(String)).toEqual(['after']);
    await until(() => h.errors.length === 2);
    expect(h.errors.map((e) => e.code)).toEqual([ErrorCodes.HANDLER_FAILED, ErrorCodes.HANDLER_FAILED]);
  });
});

describe('Listener: limits and flow control', () => {
  it('backpressure (drop policy): a reader that does not read fires bufferFull; draining fires bufferDrain', async () => {
    let conn: Connection | undefined;
    const seen: string[] = [];
    const errors: string[] = [];
    class Pusher extends Handler {
      override onConnect(e: IOEvent): void {
        conn = e.sender as Connection;
      }
      override onBufferFull(): void {
        seen.push('full');
      }
      override onBufferDrain(): void {
        seen.push('drain');
      }
      override onError(e: ErrorEvent): void {
        errors.push(e.error.code ?? '');
      }
    }
    const l = await startListener({ handler: Pusher, parser: { class: frame.Parser, sendPolicy: 'drop' }, maxSendBuffer: 64 * 1024 });
    const c = await client(l);
    c.socket.pause(); // do not read
    await until(() => conn);
    const chunk = Buffer.alloc(16 * 1024);
    let sent = 0;
    while (conn!.send(chunk)) sent++;
    expect(seen).toEqual(['full']);
    expect(conn!.send(chunk)).toBe(false); // dropped while full
    expect(errors).toEqual([ErrorCodes.SEND_BUFFER_FULL]);
    const expected = (sent + 1) * (chunk.length + 4);
    c.socket.resume();
    await c.waitBytes(expected, 5000);
    await until(() => seen.length === 2);
    expect(seen).toEqual(['full', 'drain']);
    expect(c.received.length).toBe(expected); // the dropped message never went out
    expect(conn!.send(chunk)).toBe(true);
  });

  it('pause() stops reading until resume()', async () => {
    let conn: Connection | undefined;
    const got: string[] = [];
    class H extends Handler {
      override onConnect(e: IOEvent) {
        conn = e.sender as Connection;
        conn.pause();
      }
      override onMessage(e: MessageEvent) {
        got.push(String(e.message));
      }
    }
    const l = await startListener({ handler: H });
    const c = await client(l);
    c.write(Buffer.concat([mkFrame('a'), mkFrame('b')]));
    await until(() => conn);
    await until(() => l.getStats().bytesIn === 10 || got.length > 0);
    expect(got).toEqual([]);
    conn!.resume();
    await until(() => got.length === 2);
    expect(got).toEqual(['a', 'b']);
  });

  it('idleTimeout closes a silent connection', async () => {
    const rec = new Recorder();
    const l = await startListener({ handler: rec, idleTimeout: 0.2 });
    const c = await client(l);
    await c.waitClose(3000);
    await until(() => rec.closes.length === 1);
    expect(rec.closes[0]?.reason).toBe('idle');
  });

  it('maxConnections: connections over the limit are closed at once, the others work', async () => {
    const l = await startListener({ maxConnections: 2 });
    const a = await client(l);
    const b = await client(l);
    await until(() => l.connections.size === 2);
    const over = await client(l);
    await over.waitClose();
    expect(l.getStats().rejected).toBe(1);
    a.write(mkFrame('a'));
    b.write(mkFrame('b'));
    await a.waitBytes(5);
    await b.waitBytes(5);
  });

  it('close(message) sends the message, then closes', async () => {
    class Bye extends Handler {
      override onMessage(e: MessageEvent) {
        e.sender.close('bye');
      }
    }
    const l = await startListener({ handler: Bye });
    const c = await client(l);
    c.write(mkFrame('x'));
    await c.waitClose();
    expect(unframe(c.received).map(String)).toEqual(['bye']);
  });

  it('stop(timeout) closes the connections left when the time is up', async () => {
    const rec = new Recorder();
    const l = await startListener({ handler: rec });
    const c = await client(l);
    await until(() => l.connections.size === 1);
    await l.stop(0.1);
    await c.waitClose();
    expect(l.connections.size).toBe(0);
    await expect(RawClient.connect({ host: '127.0.0.1', port: l.port }, 500)).rejects.toThrow();
  });

  it('a port in use is a clear BEYOD_LISTEN_FAILED', async () => {
    const l = await startListener({});
    await expect(startListener({ name: 'second', listen: `tcp://127.0.0.1:${l.port}` })).rejects.toMatchObject({
      code: ErrorCodes.LISTEN_FAILED,
      message: expect.stringContaining('already in use'),
    });
  });
});

describe('StreamClient', () => {
  it('exchanges messages with a listener through the same parser', async () => {
    const l = await startListener({ parser: text.Parser });
    const c = new StreamClient({ target: `tcp://127.0.0.1:${l.port}`, parser: new text.Parser() });
    cleanup.add(c, (x) => x.close());
    await c.connect();
    const got = waitFor<[MessageEvent]>(c, 'message');
    c.send('hi there');
    expect((await got)[0].message).toBe('hi there');
  });

  it('reconnects after its server goes away and comes back', async () => {
    const l1 = await startListener({ parser: text.Parser });
    const port = l1.port;
    const c = new StreamClient({ target: `tcp://127.0.0.1:${port}`, parser: new text.Parser(), reconnectInterval: 0.05 });
    cleanup.add(c, (x) => x.close());
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    const closed = waitFor(c, 'close');
    await l1.stop(0);
    await closed;
    await until(() => errors.length > 0); // refused while the server is down
    const reconnected = waitFor(c, 'connect', 3000);
    await startListener({ parser: text.Parser, listen: `tcp://127.0.0.1:${port}` });
    await reconnected;
    const got = waitFor<[MessageEvent]>(c, 'message');
    c.send('back');
    expect((await got)[0].message).toBe('back');
    expect(errors[0]).toMatchObject({ code: ErrorCodes.CONNECT_FAILED });
  });

  it('without reconnectInterval a refused connect() rejects', async () => {
    const l = await startListener({});
    const port = l.port;
    await l.stop(0);
    const c = new StreamClient({ target: `tcp://127.0.0.1:${port}` });
    await expect(c.connect()).rejects.toMatchObject({ code: ErrorCodes.CONNECT_FAILED });
  });

  it('connect timeout: a TLS peer that never answers the handshake', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.defer(() => {
      silent.close();
      (silent as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    const sockets: net.Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    cleanup.defer(() => sockets.forEach((s) => s.destroy()));
    const port = (silent.address() as net.AddressInfo).port;
    const c = new StreamClient({ target: `tls://127.0.0.1:${port}`, connectTimeout: 0.2 });
    await expect(c.connect()).rejects.toMatchObject({ code: ErrorCodes.CONNECT_TIMEOUT });
  });

  it('tls target', async () => {
    const { key, cert } = selfSignedCert();
    const l = await startListener({ listen: 'tls://127.0.0.1:0', tls: { key, cert }, parser: text.Parser });
    const c = new StreamClient({ target: `tls://localhost:${l.port}`, parser: new text.Parser(), tls: { ca: cert } });
    cleanup.add(c, (x) => x.close());
    await c.connect();
    const got = waitFor<[MessageEvent]>(c, 'message');
    c.send('over tls');
    expect((await got)[0].message).toBe('over tls');
  });
});

describe('DI through the application', () => {
  it('a handler whose constructor @injects a user component gets it', async () => {
    class Greeter {
      greeting = 'hello';
      greet(name: string) {
        return `${this.greeting}, ${name}`;
      }
    }
    @injectable()
    class GreetHandler extends Handler {
      constructor(
        readonly greeter: Greeter,
        @inject('greeter') readonly byId: Greeter,
      ) {
        super();
      }
      override onMessage(e: MessageEvent) {
        e.sender.send(this.greeter.greet(String(e.message)));
      }
    }
    const app = new Application({ log: { level: 'silent' }, components: { greeter: { class: Greeter, greeting: 'bonjour' } } });
    const l = await startListener({ handler: GreetHandler, parser: text.Parser, factory: app });
    const h = l.handlerInstance as GreetHandler;
    expect(h.greeter).toBe(app.get('greeter'));
    expect(h.byId).toBe(app.get('greeter'));
    const c = await client(l);
    c.write('Ada\n');
    expect(await c.waitLines(1)).toEqual(['bonjour, Ada']);
  });
});
