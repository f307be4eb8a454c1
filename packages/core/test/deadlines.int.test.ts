import {
  type CloseEvent,
  type Connection,
  type DeadlineEvent,
  type Endpoint,
  type ErrorEvent,
  ErrorCodes,
  Handler,
  type IOEvent,
  Listener,
  type MessageEvent,
} from '@beyod/core';
import { text } from '@beyod/protocols';
import { Cleanup, RawClient, startListener as listenOn, until } from 'test-helpers';

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

const AUTH = 1;
const IDLE = 2;

/** Must say "login" within 150 ms, then is closed after 150 ms without a line. */
class Login extends Handler {
  deadlines: Array<{ id: number; kind: number; late: number }> = [];
  closes: string[] = [];
  errors: string[] = [];
  override onConnect(e: IOEvent): void {
    (e.sender as Connection).setDeadline(150, AUTH);
  }
  override onMessage(e: MessageEvent): void {
    const conn = e.sender as Connection;
    if (e.message === 'throw') throw new Error('handler failed');
    if (e.message === 'clear') conn.clearDeadline();
    else conn.setDeadline(150, IDLE); // every line pushes the deadline back
    conn.send(`ok ${conn.deadlineKind}`);
  }
  override onDeadline(e: DeadlineEvent): void {
    const conn = e.sender as Connection;
    this.deadlines.push({ id: conn.id, kind: e.kind, late: Date.now() - conn.connectedAt });
    if (e.kind === 99) throw new Error('onDeadline failed');
    conn.close(e.kind === AUTH ? 'login timeout' : 'idle timeout');
  }
  override onClose(e: CloseEvent): void {
    this.closes.push(`${e.sender.id} ${e.reason}`);
  }
  override onError(e: ErrorEvent): void {
    this.errors.push(e.error.code ?? '');
  }
}

describe('connection deadlines', () => {
  it('a deadline armed on connect fires onDeadline with its kind; the handler closes', async () => {
    const h = new Login();
    const l = await startListener({ handler: h });
    const c = await client(l);
    await c.waitClose(3000);
    expect(c.received.toString()).toBe('login timeout\n');
    expect(h.deadlines).toHaveLength(1);
    expect(h.deadlines[0]!.kind).toBe(AUTH);
    expect(h.deadlines[0]!.late).toBeGreaterThanOrEqual(150);
  });

  it('re-armed by each message: only silence closes; clearDeadline() disarms', async () => {
    const h = new Login();
    const l = await startListener({ handler: h });
    const cleared = await client(l);
    cleared.write('clear\n');
    expect(await cleared.waitLines(1)).toEqual(['ok 0']);
    const busy = await client(l);
    await until(() => l.connections.size === 2);
    const conn = [...l.connections.values()][1]!;
    let last = conn.deadline;
    for (let i = 0; i < 5; i++) {
      await until(() => Date.now() > last - 140); // let the clock move
      busy.write(`line ${i}\n`);
      await busy.waitLines(i + 1);
      expect(conn.deadline).toBeGreaterThan(last); // pushed back
      expect(conn.deadlineKind).toBe(IDLE);
      last = conn.deadline;
    }
    await busy.waitClose(3000);
    expect(busy.received.toString()).toMatch(/idle timeout\n$/);
    expect(h.deadlines.map((d) => d.kind)).toEqual([IDLE]);
    // cleared's login deadline passed long ago, disarmed
    expect(cleared.closed).toBe(false);
    expect([...l.connections.values()][0]!.deadline).toBe(0);
  });

  it('a throwing onDeadline is reported to onError; the others carry on', async () => {
    class Throws extends Login {
      override onConnect(e: IOEvent): void {
        (e.sender as Connection).setDeadline(50, 99);
      }
    }
    const h = new Throws();
    const l = await startListener({ handler: h });
    const c = await client(l);
    await until(() => h.errors.length === 1, 3000, 'onError');
    expect(h.errors).toEqual([ErrorCodes.HANDLER_FAILED]);
    c.write('still here\n');
    expect(await c.waitLines(1)).toEqual([`ok ${IDLE}`]);
  });

  it('a parser with onDeadline owns the deadlines: the handler is not called; a throw closes that connection only', async () => {
    const seen: number[] = [];
    class Timed extends text.Parser {
      override input(buffer: Buffer, conn: Endpoint): number {
        conn.setDeadline(buffer.includes('boom') ? 10 : 100, buffer.includes('boom') ? 7 : 5);
        return super.input(buffer, conn);
      }
      override onDeadline(conn: Endpoint, kind: number): void {
        seen.push(kind);
        if (kind === 7) throw new Error('parser deadline failed');
        conn.close('parser timeout');
      }
    }
    const h = new Login();
    const l = await startListener({ handler: h, parser: Timed });
    const a = await client(l);
    const b = await client(l);
    a.write('x');
    b.write('boom');
    await a.waitClose(3000);
    await b.waitClose(3000);
    expect(a.received.toString()).toBe('parser timeout\n');
    expect(b.received.toString()).toBe('');
    expect(seen.sort()).toEqual([5, 7]);
    expect(h.deadlines).toEqual([]); // the handler's onDeadline never ran
    expect(h.errors).toContain(ErrorCodes.HANDLER_FAILED);
    await until(() => h.closes.length === 2);
    expect(h.closes.some((x) => x.endsWith('error'))).toBe(true);
  });

  it('closing a connection clears its deadline', async () => {
    const h = new Login();
    const l = await startListener({ handler: h });
    const c = await client(l);
    await until(() => l.connections.size === 1);
    const conn = [...l.connections.values()][0]!;
    expect(conn.deadline).toBeGreaterThan(0);
    c.destroy();
    await until(() => h.closes.length === 1);
    expect(conn.deadline).toBe(0);
    expect(h.deadlines).toEqual([]);
  });
});
