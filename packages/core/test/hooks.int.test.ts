import {
  type CloseEvent,
  type Connection,
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

function startListener(handler: unknown): Promise<Listener> {
  return listenOn(cleanup, { parser: text.Parser, handler });
}

async function client(l: Listener): Promise<RawClient> {
  const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
  cleanup.add(c, (x) => x.destroy());
  return c;
}

/**
 * A protocol's handler: it tracks its connections and answers "#ping" itself, whatever the
 * application does to onConnect / onMessage / onClose.
 */
class ProtocolHandler extends Handler {
  readonly live = new Set<number>();
  protocolLog: string[] = [];
  protected override beforeConnect(e: IOEvent): void {
    this.live.add(e.sender.id);
    this.protocolLog.push('connect');
  }
  protected override beforeMessage(e: MessageEvent): boolean {
    if (e.message !== '#ping') return true;
    e.sender.send('#pong');
    return false; // consumed: the application never sees it
  }
  protected override beforeClose(e: CloseEvent): void {
    this.live.delete(e.sender.id);
    this.protocolLog.push('close');
  }
}

describe('protocol hooks run whatever the application overrides', () => {
  it('class fields onConnect / onMessage / onClose do not remove the protocol logic', async () => {
    const seen: string[] = [];
    class App extends ProtocolHandler {
      // fields, not methods: they replace the methods on the instance
      override onConnect = (): void => void seen.push('app connect');
      override onMessage = (e: MessageEvent): void => {
        seen.push(`app ${String(e.message)}`);
        e.sender.send(`echo ${String(e.message)}`);
      };
      override onClose = (): void => void seen.push('app close');
    }
    const h = new App();
    const l = await startListener(h);
    const c = await client(l);
    await until(() => h.live.size === 1);
    c.write('#ping\nhello\n');
    expect(await c.waitLines(2)).toEqual(['#pong', 'echo hello']);
    c.destroy();
    await until(() => h.live.size === 0, 3000, 'the protocol saw the close');
    await until(() => seen.includes('app close'));
    expect(h.protocolLog).toEqual(['connect', 'close']);
    expect(seen).toEqual(['app connect', 'app hello', 'app close']);
  });

  it('methods assigned from a config ({ class, onClose }) and overrides without super keep it too', async () => {
    const seen: string[] = [];
    class NoSuper extends ProtocolHandler {
      override onConnect(): void {
        seen.push('no super');
      }
    }
    const l = await startListener({ class: NoSuper, onClose: () => seen.push('config close') });
    const h = l.handlerInstance as NoSuper;
    const c = await client(l);
    await until(() => h.live.size === 1);
    c.write('#ping\n');
    expect(await c.waitLines(1)).toEqual(['#pong']);
    c.destroy();
    await until(() => seen.length === 2);
    expect(seen).toEqual(['no super', 'config close']);
    expect(h.live.size).toBe(0);
  });

  it('a throwing hook is a handler failure: onError, and the connection carries on', async () => {
    const errors: string[] = [];
    class Fragile extends ProtocolHandler {
      protected override beforeMessage(e: MessageEvent): boolean {
        if (e.message === 'bad') throw new Error('hook failed');
        return super.beforeMessage(e);
      }
      override onMessage(e: MessageEvent): void {
        (e.sender as Connection).send(`got ${String(e.message)}`);
      }
      override onError(e: ErrorEvent): void {
        errors.push(e.error.code ?? '');
      }
    }
    const l = await startListener(new Fragile());
    const c = await client(l);
    c.write('bad\ngood\n');
    expect(await c.waitLines(1)).toEqual(['got good']);
    expect(errors).toEqual([ErrorCodes.HANDLER_FAILED]);
  });
});
