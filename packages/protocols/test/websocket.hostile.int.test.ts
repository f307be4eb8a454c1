/*
 * A hostile client against the WebSocket server, from outside: the server runs in a child
 * process of its own (with a 256 MB heap, like a small worker), the client is a raw socket,
 * and what the attack cost the server is read from the child's peak RSS.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { websocket } from '@beyod/protocols';
import { Cleanup, RawClient, waitFor } from 'test-helpers';
import { clientFrame, handshakeRequest, serverFrames } from './websocketTestUtil';

const { Opcode } = websocket;
const FIXTURE = path.resolve(__dirname, 'fixtures/wsEchoChild.ts');
const REGISTER = path.resolve(__dirname, '../../cli/register.js');
/** What a connection may cost beyond its limits: far below what the attacks cost unbounded (+150 to +500 MB). */
const BOUND = 48 * 1024 * 1024;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Memory {
  maxRss: number;
  rss: number;
}

interface Child {
  port: number;
  memory(): Promise<Memory>;
  alive(): boolean;
}

async function startServer(parser: Record<string, unknown>): Promise<Child> {
  const child: ChildProcess = fork(FIXTURE, [], {
    execArgv: ['-r', REGISTER, '--max-old-space-size=256'],
    env: { ...process.env, BEYOD_WS_PARSER: JSON.stringify(parser) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let exited = false;
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.on('exit', () => (exited = true));
  cleanup.add(child, (c) => c.kill('SIGKILL'));
  const [ready] = await Promise.race([
    waitFor<[{ port: number }]>(child, 'message', 20000),
    waitFor(child, 'exit', 20000).then(() => {
      throw new Error(`the server process exited before listening:\n${stderr}`);
    }),
  ]);
  return {
    port: ready.port,
    alive: () => !exited,
    memory: async () => {
      child.send('memory');
      const [m] = await waitFor<[Memory]>(child, 'message', 10000);
      return m;
    },
  };
}

/** A raw client that did the handshake (offering `extensions` when given). */
async function handshake(port: number, extensions = ''): Promise<{ c: RawClient; frames: () => Array<[number, Buffer]> }> {
  const c = await RawClient.connect({ host: '127.0.0.1', port });
  cleanup.add(c, (x) => x.destroy());
  c.write(handshakeRequest('/', extensions === '' ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`));
  const head = await c.waitUntil((b) => b.includes('\r\n\r\n'), 5000, 'the 101');
  expect(head.toString('latin1', 0, 12)).toBe('HTTP/1.1 101');
  const at = head.indexOf('\r\n\r\n') + 4;
  return { c, frames: () => serverFrames(c.received.subarray(at)) };
}

/**
 * Write `chunk` `times` times, honouring backpressure; stops early when the server answered
 * something (its close) or the socket went away. Returns the bytes written.
 */
async function pump(c: RawClient, chunk: Buffer, times: number, answered: () => boolean): Promise<number> {
  let sent = 0;
  for (let i = 0; i < times; i++) {
    if (answered() || c.closed || c.error !== undefined) break;
    sent += chunk.length;
    if (!c.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          c.socket.off('drain', done);
          c.socket.off('close', done);
          resolve();
        };
        c.socket.on('drain', done);
        c.socket.on('close', done);
      });
    }
  }
  return sent;
}

/** The close frame the server sent: [code, reason]. */
async function closeFrame(c: RawClient, frames: () => Array<[number, Buffer]>): Promise<[number, string]> {
  await c.waitUntil(() => frames().some(([op]) => op === Opcode.CLOSE), 20000, 'a close frame');
  const [, payload] = frames().find(([op]) => op === Opcode.CLOSE) as [number, Buffer];
  return [payload.readUInt16BE(0), payload.toString('utf8', 2)];
}

/** `count` copies of one frame, `per` of them per chunk written. */
function repeated(frame: Buffer, per: number): Buffer {
  return Buffer.concat(Array.from({ length: per }, () => frame));
}

describe('websocket under a hostile client (memory measured in the server process)', () => {
  it('empty continuation frames: closed with 1008 at maxFragments, memory bounded', async () => {
    const server = await startServer({});
    const before = await server.memory();
    const { c, frames } = await handshake(server.port);
    c.write(clientFrame(Opcode.TEXT, '', { fin: false }));
    // 24 MB of 6-byte empty continuations (4M frames): used to take +500 MB and kill the process.
    const sent = await pump(c, repeated(clientFrame(Opcode.CONTINUATION, '', { fin: false }), 10_000), 400, () => frames().length > 0);
    const [code, reason] = await closeFrame(c, frames);
    expect([code, reason]).toEqual([1008, 'message in more than 16384 fragments (maxFragments)']);
    expect(sent).toBeLessThan(24_000_000);
    expect(server.alive()).toBe(true);
    expect((await server.memory()).maxRss - before.maxRss).toBeLessThan(BOUND);
  });

  it('with no fragment limit, 24 MB of empty fragments and a 1 MB message in 1-byte fragments hold only their payload', async () => {
    const server = await startServer({ maxFragments: 0, maxPayload: 1024 * 1024 });
    const before = await server.memory();
    const { c, frames } = await handshake(server.port);
    c.write(clientFrame(Opcode.TEXT, 'a', { fin: false }));
    await pump(c, repeated(clientFrame(Opcode.CONTINUATION, '', { fin: false }), 10_000), 400, () => frames().length > 0);
    c.write(clientFrame(Opcode.CONTINUATION, 'z'));
    await c.waitUntil(() => frames().length >= 1, 30000, 'the echo of the first message');
    expect(frames()[0]).toEqual([Opcode.TEXT, Buffer.from('az')]);
    // 7 MB of 1-byte fragments (1M frames): used to take +150 MB
    c.write(clientFrame(Opcode.TEXT, 'x', { fin: false }));
    await pump(c, repeated(clientFrame(Opcode.CONTINUATION, 'x', { fin: false }), 10_000), 100, () => frames().length > 1);
    c.write(clientFrame(Opcode.CONTINUATION, 'x'));
    await c.waitUntil(() => frames().length >= 2, 30000, 'the echo of the second message');
    const [op, echo] = frames()[1] as [number, Buffer];
    expect([op, echo.length, echo.every((b) => b === 0x78)]).toEqual([Opcode.TEXT, 1_000_002, true]);
    expect((await server.memory()).maxRss - before.maxRss).toBeLessThan(BOUND);
  });

  it('1-byte fragments adding up past maxPayload: 1009 with the size in the reason', async () => {
    const server = await startServer({ maxFragments: 0, maxPayload: 100_000 });
    const { c, frames } = await handshake(server.port);
    c.write(clientFrame(Opcode.BINARY, 'x', { fin: false }));
    await pump(c, repeated(clientFrame(Opcode.CONTINUATION, 'x', { fin: false }), 10_000), 100, () => frames().length > 0);
    expect(await closeFrame(c, frames)).toEqual([1009, 'message of 100001 bytes (100001 fragments) exceeds maxPayload 100000']);
  });

  it('a compressed message of 64 KB that inflates to 256 MB (zip bomb): 1009 while inflating, memory bounded', async () => {
    const server = await startServer({ perMessageDeflate: true });
    const before = await server.memory();
    const { c, frames } = await handshake(server.port, 'permessage-deflate');
    const bomb = zlib.deflateRawSync(Buffer.alloc(256 * 1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    c.write(clientFrame(Opcode.BINARY, bomb.subarray(0, bomb.length - 4), { rsv: 4 }));
    expect(await closeFrame(c, frames)).toEqual([1009, 'compressed message inflates to more than maxPayload 1048576 bytes']);
    expect(server.alive()).toBe(true);
    expect((await server.memory()).maxRss - before.maxRss).toBeLessThan(BOUND);
  });

  it('invalid deflate data: 1007; another client of the same process carries on', async () => {
    const server = await startServer({ perMessageDeflate: true });
    const good = await handshake(server.port, 'permessage-deflate');
    const { c, frames } = await handshake(server.port, 'permessage-deflate');
    c.write(clientFrame(Opcode.TEXT, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 }));
    const [code, reason] = await closeFrame(c, frames);
    expect(code).toBe(1007);
    expect(reason).toMatch(/^invalid compressed data/);
    good.c.write(clientFrame(Opcode.TEXT, 'still here'));
    await good.c.waitUntil(() => good.frames().length > 0, 5000, 'an echo');
    expect(good.frames()[0]).toEqual([Opcode.TEXT, Buffer.from('still here')]);
  });
});
