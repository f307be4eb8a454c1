import * as net from 'node:net';
import {
  type Connection,
  type ErrorEvent,
  ErrorCodes,
  Handler,
  type IOEvent,
  Listener,
  type MessageEvent,
  Parser,
  StreamClient,
} from '@beyod/core';
import { frame, text } from '@beyod/protocols';
import { Cleanup, RawClient, startListener as listenOn, frame as mkFrame, unframe, until } from 'test-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function startListener(props: Partial<Listener>): Promise<Listener> {
  return listenOn(cleanup, { parser: text.Parser, ...props });
}

async function client(l: Listener): Promise<RawClient> {
  const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
  cleanup.add(c, (x) => x.destroy());
  return c;
}

/** Answers each line `i` with `i` padded to 4 KiB, and records what it saw. */
class BigAnswers extends Handler {
  conn: Connection | undefined;
  full = 0;
  drains = 0;
  errors: string[] = [];
  /** Largest send buffer seen right after a send. */
  peak = 0;
  override onConnect(e: IOEvent): void {
    this.conn = e.sender as Connection;
  }
  override onMessage(e: MessageEvent): void {
    const conn = e.sender as Connection;
    conn.send(String(e.message).padEnd(ANSWER - 1, '.'));
    this.peak = Math.max(this.peak, conn.sendBufferLength);
  }
  override onBufferFull(_e: IOEvent): void {
    this.full++;
  }
  override onBufferDrain(): void {
    this.drains++;
  }
  override onError(e: ErrorEvent): void {
    this.errors.push(e.error.code ?? e.error.message);
  }
}

// 16 MB of answers: far more than loopback's kernel buffers absorb (about 4 MB here).
const LINES = 4000;
const ANSWER = 4096;
const requests = (n: number) => Array.from({ length: n }, (_, i) => `${i}\n`).join('');

/** Reads the answers as they come: counts lines, and notes the first one out of order. */
class Answers {
  lines = 0;
  outOfOrder: string | undefined;
  private partial = '';
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) {
        const n = p.replace(/\.+$/, '');
        if (n !== String(this.lines) && this.outOfOrder === undefined) this.outOfOrder = `line ${this.lines}: ${n.slice(0, 20)}`;
        this.lines++;
      }
    });
  }
  async wait(n: number, ms = 15000): Promise<void> {
    await until(() => this.lines >= n || this.socket.destroyed, ms, `${n} answers`);
    expect(this.outOfOrder).toBeUndefined();
    expect(this.lines).toBe(n);
  }
}

async function reader(l: Listener): Promise<Answers> {
  const socket = net.connect(l.port, '127.0.0.1');
  cleanup.add(socket, (s) => s.destroy());
  await new Promise((r) => socket.once('connect', r));
  socket.pause(); // read late
  return new Answers(socket);
}

describe('send policy: streams never drop (the default)', () => {
  it('a peer that reads only after sending everything gets every answer, in order', async () => {
    // Failed before: past maxSendBuffer the answers were dropped (about 1 in 20 arrived here)
    // and the client waited forever for the rest.
    const h = new BigAnswers();
    const l = await startListener({ handler: h, maxSendBuffer: 64 * 1024 });
    const a = await reader(l);
    a.socket.write(requests(LINES));
    // Loopback's kernel buffers absorb a few MB, so the buffer fills and drains a few times
    // before it stays full; the answers past the first fill were the ones dropped before.
    await until(() => h.full >= 1, 5000, 'a full send buffer');
    a.socket.resume();
    await a.wait(LINES);
    expect(h.errors).toEqual([]);
    expect(l.getStats().dropped).toBe(0);
    // it stopped reading: what was queued never went past the limit by more than one answer
    expect(h.peak).toBeLessThanOrEqual(64 * 1024 + ANSWER);
    await until(() => h.drains >= 1);
  });

  it('past the limit it stops parsing input already buffered, and resumes after the drain', async () => {
    const h = new BigAnswers();
    const l = await startListener({ handler: h, maxSendBuffer: 16 * 1024 });
    const a = await reader(l);
    a.socket.write(requests(LINES)); // arrives in one or a few chunks: most of it is parsed from the buffer
    await until(() => h.conn?.isFull, 5000, 'bufferFull');
    const conn = h.conn!;
    expect(conn.messagesIn).toBeLessThan(LINES);
    expect(conn.isPaused).toBe(false); // the user did not pause it
    a.socket.resume();
    await a.wait(LINES);
    expect(conn.messagesIn).toBe(LINES);
    expect(conn.isFull).toBe(false);
  });

  it('a user pause() survives the drain: input stays paused until resume()', async () => {
    class PauseOnFull extends BigAnswers {
      override onBufferFull(e: IOEvent): void {
        super.onBufferFull(e);
        if (this.full === 1) (e.sender as Connection).pause();
      }
    }
    const h = new PauseOnFull();
    const l = await startListener({ handler: h, maxSendBuffer: 16 * 1024 });
    const a = await reader(l);
    a.socket.write(requests(LINES));
    await until(() => h.full === 1, 5000, 'bufferFull');
    const conn = h.conn!;
    const parsed = conn.messagesIn;
    a.socket.resume();
    await until(() => h.drains === 1, 5000, 'bufferDrain');
    expect(h.full).toBe(1); // paused by the user: nothing more parsed, so not full again
    // everything answered so far reaches the client, and nothing more is parsed
    await until(() => a.lines === parsed, 5000, 'the answers so far');
    await new Promise((r) => setImmediate(r));
    expect(conn.messagesIn).toBe(parsed);
    expect(conn.isPaused).toBe(true);
    conn.resume();
    await a.wait(LINES);
    expect(conn.messagesIn).toBe(LINES);
  });

  it('trySend() drops only what it sends while the buffer is full, counted; send() still queues', async () => {
    const h = new BigAnswers();
    const l = await startListener({ handler: h, parser: frame.Parser, maxSendBuffer: 32 * 1024 });
    const c = await client(l);
    c.socket.pause();
    await until(() => h.conn);
    const conn = h.conn!;
    const chunk = Buffer.alloc(8 * 1024, 1);
    let queued = 0;
    while (conn.trySend(chunk)) queued++;
    queued++; // the one that crossed the limit is queued
    expect(conn.isFull).toBe(true);
    expect(conn.trySend(chunk)).toBe(false);
    expect(conn.trySend(chunk)).toBe(false);
    expect(conn.send(Buffer.from('answer'))).toBe(false); // queued: false only says "full"
    expect(conn.messagesDropped).toBe(2);
    expect(l.getStats().dropped).toBe(2);
    expect(h.errors).toEqual([]); // a droppable send that was dropped is not an error
    c.socket.resume();
    const total = queued * (chunk.length + 4) + 10;
    await c.waitBytes(total, 5000);
    const got = unframe(c.received);
    expect(got.length).toBe(queued + 1);
    expect(String(got[queued])).toBe('answer');
  });
});

describe('send policy: drop (opt-in, for independent messages)', () => {
  it('sends over the limit are dropped, reported and counted per connection and per listener', async () => {
    const h = new BigAnswers();
    const l = await startListener({ handler: h, parser: { class: frame.Parser, sendPolicy: 'drop' }, maxSendBuffer: 64 * 1024 });
    const c = await client(l);
    c.socket.pause();
    await until(() => h.conn);
    const conn = h.conn!;
    const chunk = Buffer.alloc(16 * 1024);
    let sent = 0;
    while (conn.send(chunk)) sent++;
    sent++;
    expect(h.full).toBe(1);
    expect(conn.send(chunk)).toBe(false);
    expect(conn.send(chunk)).toBe(false);
    expect(h.errors).toEqual([ErrorCodes.SEND_BUFFER_FULL, ErrorCodes.SEND_BUFFER_FULL]);
    expect(conn.messagesDropped).toBe(2);
    expect(l.getStats().dropped).toBe(2);
    // input is not paused under the drop policy
    c.write(mkFrame('still read'));
    await until(() => conn.messagesIn === 1);
    c.socket.resume();
    await c.waitBytes(sent * (chunk.length + 4) + 1027, 5000);
    await until(() => h.drains === 1);
    expect(conn.send(chunk)).toBe(true);
    c.destroy();
    await until(() => l.connections.size === 0);
    expect(l.getStats().dropped).toBe(2); // kept after the connection closed
  });

  it('the policy is read from the parser: a parser subclass can declare it', () => {
    class Datagrams extends Parser {
      override sendPolicy = 'drop' as const;
    }
    expect(new Parser().sendPolicy).toBe('pause');
    expect(new frame.Parser().sendPolicy).toBe('pause');
    expect(new Datagrams().sendPolicy).toBe('drop');
  });
});

describe('send policy: a StreamClient never stops reading', () => {
  it('with a full send buffer it still receives (its peer waits for it to read)', async () => {
    // A server that does not read until it has sent its own 2 MB: a client that stopped reading
    // while its send buffer was full would deadlock with it.
    const server = net.createServer((s) => {
      s.pause();
      const line = `${'x'.repeat(1023)}\n`;
      let n = 0;
      const more = (): void => {
        while (n < 2048) {
          n++;
          if (!s.write(line)) return void s.once('drain', more);
        }
        s.resume();
      };
      more();
    });
    cleanup.add(server, (s) => s.close());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const sc = new StreamClient({ target: `tcp://127.0.0.1:${port}`, parser: new text.Parser(), maxSendBuffer: 16 * 1024 });
    cleanup.add(sc, (x) => x.close());
    let got = 0;
    sc.on('message', () => got++);
    await sc.connect();
    const line = 'y'.repeat(1023);
    for (let i = 0; i < 512; i++) sc.send(line);
    expect(sc.isFull).toBe(true);
    await until(() => got === 2048, 10000, '2048 lines');
    await until(() => !sc.isFull, 10000, 'drain');
    expect(sc.messagesDropped).toBe(0);
  });
});
