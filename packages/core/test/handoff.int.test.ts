/*
 * Live handoff of a connection between two listeners, in one process: what Connection,
 * Listener and the mover do with a real socket, without the master in between (the CLI tests,
 * packages/cli/test/handoff*.int.test.ts, pass sockets between real processes).
 */
import * as net from 'node:net';
import {
  type AdoptEvent,
  type CloseEvent,
  type Connection,
  type ErrorEvent,
  ErrorCodes,
  HANDOFF_NEVER,
  Handler,
  type HandoffEvent,
  Listener,
  type MessageEvent,
  rootLogger,
} from '@beyod/core';
import { type ConnectionHandoff, type HandoffProgress, moveConnections } from '@beyod/core/internal';
import { frame, text } from '@beyod/protocols';
import { Cleanup, RawClient, startListener as listenOn, until } from 'test-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Echoes each line as "<tag> <n> <line>", n = the lines this connection sent (kept in its attributes). */
class Echo extends Handler {
  closed: Array<[number, string]> = [];
  adopted: AdoptEvent[] = [];
  errors: ErrorEvent[] = [];
  badPackets: ErrorEvent[] = [];
  handoffs = 0;
  /** What onHandoff does: return this (a function of the connection), or throw. */
  state: (c: Connection, e: HandoffEvent) => unknown = (c) => ({ secret: `s-${c.id}` });

  constructor(readonly tag: string) {
    super();
  }

  override onMessage(e: MessageEvent): void {
    const n = Number(e.sender.attributes.get('n') ?? 0) + 1;
    e.sender.attributes.set('n', n);
    e.sender.send(`${this.tag} ${n} ${String(e.message)}`);
  }

  override onClose(e: CloseEvent): void {
    this.closed.push([e.sender.id, e.reason]);
  }

  override onError(e: ErrorEvent): void {
    this.errors.push(e);
  }

  override onBadPacket(e: ErrorEvent): void {
    this.badPackets.push(e);
  }

  override onHandoff(e: HandoffEvent): unknown {
    this.handoffs++;
    return this.state(e.sender as Connection, e);
  }

  override onAdopt(e: AdoptEvent): void {
    this.adopted.push(e);
  }
}

function listen(handler: Handler, parser: unknown = text.Parser): Promise<Listener> {
  return listenOn(cleanup, { parser, handler });
}

async function client(l: Listener): Promise<RawClient> {
  const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
  cleanup.add(c, (x) => x.destroy());
  await until(() => l.connections.size > 0, 2000, 'accepted');
  return c;
}

/**
 * What node's IPC does to a socket it passes: the sender's net.Socket lets go of its handle,
 * and the receiver wraps the handle in a new net.Socket (child_process 'net.Socket' got()).
 */
function passHandle(socket: net.Socket): net.Socket {
  const s = socket as net.Socket & { _handle: unknown };
  const handle = s._handle;
  s._handle = null;
  return new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
}

/** Move what can move from `from` to `to`, the record crossing JSON and the socket passed as over IPC. */
function move(from: Listener, to: Listener, timeout = 0.2): Promise<HandoffProgress> {
  const transmit = async (record: ConnectionHandoff, socket: net.Socket): Promise<boolean> => {
    const h = JSON.parse(JSON.stringify(record)) as ConnectionHandoff;
    return to._adopt(passHandle(socket), h, 4242) !== undefined;
  };
  const sig = to.handoffSignature();
  return moveConnections([from], { listeners: sig ? { [to.name]: sig } : {}, timeout }, 'reload', transmit, rootLogger());
}

describe('live handoff between two listeners', () => {
  it('a connection moves with its id, counters, JSON attributes, app state and half a line; the peer sees nothing', async () => {
    const oldH = new Echo('old');
    const newH = new Echo('new');
    const a = await listen(oldH);
    const b = await listen(newH);
    const c = await client(a);
    c.write('one\ntwo\n');
    await c.waitLines(2);
    const conn = [...a.connections.values()][0]!;
    conn.attributes.set('name', 'ann');
    conn.attributes.set('when', new Date()); // not JSON: stays behind
    c.write('thr'); // half a line: received, not parsed
    await until(() => conn.receiveBufferLength === 3, 2000, 'the half line');
    const id = conn.id;

    const progress = await move(a, b);
    expect(progress).toMatchObject({ moved: 1, stayed: {}, lost: 0, done: true });
    expect(a.connections.size).toBe(0);
    expect(conn.handedOff).toBe(true);
    expect(conn.send('late')).toBe(false); // refused, not queued
    const moved = b.connections.get(id)!;
    expect(moved).toBeDefined();
    expect(moved.messagesIn).toBe(2);
    expect(moved.attributes.get('name')).toBe('ann');
    expect(moved.attributes.get('n')).toBe(2);
    expect(moved.attributes.has('when')).toBe(false);
    expect(newH.adopted[0]).toMatchObject({ state: { secret: `s-${id}` }, fromPid: 4242, reason: 'reload' });

    c.write('ee\n');
    const lines = await c.waitLines(3);
    expect(lines[2]).toBe('new 3 three');
    expect(c.closed).toBe(false);
    expect(oldH.closed).toEqual([]); // it did not close: it moved
    expect(a.getStats()).toMatchObject({ handedOff: 1, closed: 0, messagesIn: 2 });
    // the new listener counts what it did, not what the connection did before it came
    expect(b.getStats()).toMatchObject({ adopted: 1, messagesIn: 1, messagesOut: 1 });
    expect(moved.messagesIn).toBe(3);
  });

  it('the armed deadline moves with it', async () => {
    const kinds: number[] = [];
    class Timed extends Echo {
      override onDeadline(e: { kind: number }): void {
        kinds.push(e.kind);
      }
    }
    const a = await listen(new Timed('old'));
    const b = await listen(new Timed('new'));
    await client(a);
    const conn = [...a.connections.values()][0]!;
    conn.setDeadline(300, 7);
    await move(a, b);
    const moved = b.connections.get(conn.id)!;
    expect(moved.deadlineKind).toBe(7);
    await until(() => kinds.length > 0, 3000, 'the deadline');
    expect(kinds).toEqual([7]);
  });

  it('busy connections wait (defer, paused), refused ones stay, and what stays says why', async () => {
    const oldH = new Echo('old');
    const a = await listen(oldH);
    const b = await listen(new Echo('new'));
    for (let i = 0; i < 3; i++) await client(a);
    await until(() => a.connections.size === 3, 2000, 'three');
    const [dConn, rConn, pConn] = [...a.connections.values()];
    oldH.state = (conn, e) => {
      if (conn === dConn) e.defer();
      if (conn === rConn) e.refuse();
      return null;
    };
    pConn!.pause();
    const p = await move(a, b, 0.1);
    expect(p).toMatchObject({ moved: 0, stayed: { busy: 2, refused: 1 } });
    expect(a.connections.size).toBe(3);
    // once they are free, they move
    oldH.state = () => null;
    pConn!.resume();
    expect((await move(a, b)).moved).toBe(3);
    expect(b.connections.size).toBe(3);
  });

  it('onHandoff that throws or returns something not JSON: that connection drains, the others move', async () => {
    const oldH = new Echo('old');
    const a = await listen(oldH);
    const b = await listen(new Echo('new'));
    await client(a);
    await client(a);
    const ok = await client(a);
    await until(() => a.connections.size === 3, 2000, 'three');
    const [c1, c2] = [...a.connections.values()];
    oldH.state = (conn) => {
      if (conn === c1) throw new Error('boom');
      if (conn === c2) return new Map();
      return 'fine';
    };
    const p = await move(a, b);
    expect(p).toMatchObject({ moved: 1, stayed: { error: 2 } });
    ok.write('x\n');
    expect((await ok.waitLines(1))[0]).toBe('new 1 x');
  });

  it('bad bytes that moved: the new worker closes that connection only', async () => {
    const newH = new Echo('new');
    const a = await listen(new Echo('old'), frame.Parser);
    const b = await listen(newH, frame.Parser);
    const bad = await client(a);
    const good = await client(a);
    await until(() => a.connections.size === 2, 2000, 'two');
    const badConn = [...a.connections.values()][0]!;
    bad.write(Buffer.from([0, 0, 0])); // 3 bytes of a header: not a packet yet
    await until(() => badConn.receiveBufferLength === 3, 2000, 'the partial header');
    expect((await move(a, b)).moved).toBe(2);
    bad.write(Buffer.from([1])); // completes a header announcing 1 byte: shorter than the header
    await bad.waitClose();
    expect(newH.badPackets.map((e) => e.error.code)).toEqual([ErrorCodes.BAD_PACKET]);
    good.write(frame.encodeFrame('hi'));
    await good.waitBytes(4 + 'new 1 hi'.length);
    expect(good.received.subarray(4).toString()).toBe('new 1 hi');
  });

  it('a parser that cannot take the state it is sent closes that connection with BEYOD_HANDOFF_FAILED', async () => {
    class Picky extends text.Parser {
      override importState(): void {
        throw new Error('not mine');
      }
    }
    class Never extends text.Parser {
      override exportState(): symbol {
        return HANDOFF_NEVER;
      }
    }
    const a = await listen(new Echo('old'));
    const b = await listen(new Echo('new'), Picky);
    const c = await client(a);
    // signatures differ (another parser class): nothing moves, it stays for the listener reason
    expect((await move(a, b)).stayed).toEqual({ listener: 1 });
    // forced: adopted by a parser that refuses the state
    const conn = [...a.connections.values()][0]!;
    const r = conn._handoff('reload');
    if (r === 'later' || 'stay' in r) throw new Error(`did not move: ${JSON.stringify(r)}`);
    expect(b._adopt(passHandle(r.socket), r.record, 1)).toBeDefined();
    await c.waitClose();
    const d = await listen(new Echo('never'), Never);
    await client(d);
    const e = await listen(new Echo('new'), Never);
    expect((await move(d, e)).stayed).toEqual({ refused: 1 });
  });
});
