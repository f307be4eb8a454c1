import { type Endpoint, type ErrorEvent, Listener } from '@beyod/core';
import { text } from '@beyod/protocols';
import { Cleanup, RawClient, until } from 'test-helpers';

describe('text.Handler (real sockets)', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  async function serve(handler: unknown): Promise<{ listener: Listener; connect: () => Promise<RawClient> }> {
    const listener = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', handler, parser: text.Parser });
    await listener.start();
    cleanup.defer(() => listener.stop());
    const connect = async () => cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    return { listener, connect };
  }

  it('echoes by default, greets, and closes on the quit command', async () => {
    const { connect } = await serve({ class: text.Handler, greeting: 'welcome' });
    const c = await connect();
    c.write('hello\r\nworld\n  quit \n');
    expect(await c.waitLines(4)).toEqual(['welcome', 'hello', 'world', 'bye']);
    await c.waitClose();
  });

  it('sends what lineCallback returns (given in the config), nothing for undefined', async () => {
    const seen: string[] = [];
    const lineCallback = (line: string, conn: Endpoint) => {
      seen.push(`${conn.transport}:${line}`);
      return line === 'silent' ? undefined : line.toUpperCase();
    };
    const { connect } = await serve({ class: text.Handler, lineCallback, quitCommand: '' });
    const c = await connect();
    c.write('abc\nsilent\nquit\n');
    expect(await c.waitLines(2)).toEqual(['ABC', 'QUIT']);
    await until(() => seen.length === 3);
    expect(seen).toEqual(['tcp:abc', 'tcp:silent', 'tcp:quit']);
  });

  it('keeps replies in line order when onLine is asynchronous, and reports a failing line without closing', async () => {
    class Slow extends text.Handler {
      release: (() => void) | undefined;
      errors: Error[] = [];
      override onLine(line: string): string | Promise<string> {
        if (line === 'slow') return new Promise((resolve) => (this.release = () => resolve('slow done')));
        if (line === 'boom') return Promise.reject(new Error('boom failed'));
        this.release?.();
        return `${line} done`;
      }
      override onError(event: ErrorEvent): void {
        this.errors.push(event.error);
      }
    }
    const handler = new Slow();
    const { connect } = await serve(handler);
    const c = await connect();
    c.write('slow\nboom\nfast\n');
    expect(await c.waitLines(2)).toEqual(['slow done', 'fast done']);
    await until(() => handler.errors.length === 1);
    expect(handler.errors[0]).toMatchObject({ code: 'BEYOD_HANDLER_FAILED', message: expect.stringMatching(/boom failed/) });
    c.write('after\n');
    expect(await c.waitLines(3)).toEqual(['slow done', 'fast done', 'after done']);
  });
});
