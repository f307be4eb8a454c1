import { Listener, StreamClient } from '@beyod/core';
import { text } from '@beyod/protocols';
import { EventEmitter } from 'node:events';
import { Cleanup, RawClient, until } from 'test-helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** What a connection may hold while idle; each is made on first use and let go when empty. */
interface Internals {
  rb: unknown;
  out: unknown;
  attrs: unknown;
  dl: unknown;
}

describe('an idle connection holds nothing it does not need', () => {
  it('after a request and its answer: no receive buffer, no send buffer, no attributes Map', async () => {
    // Failed before: every connection held a ReceiveBuffer, a SendBuffer, a Map and an
    // EventEmitter from its first byte (bench/connections: 7.0 KB per idle connection against
    // 3.7 KB for a bare node:net line echo).
    const l = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', parser: text.Parser, handler: text.Handler });
    l.init();
    await l.start();
    cleanup.add(l, (x) => x.stop(0));
    const clients: RawClient[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
      cleanup.add(c, (x) => x.destroy());
      c.write(`line ${i}\npartial`);
      clients.push(c);
    }
    for (const [i, c] of clients.entries()) expect(await c.waitLines(1)).toEqual([`line ${i}`]);
    await until(() => [...l.connections.values()].every((c) => c.sendBufferLength === 0));
    for (const conn of l.connections.values()) {
      const x = conn as unknown as Internals;
      expect(conn.receiveBufferLength).toBe(7); // 'partial' waits for its newline
      expect(x.out).toBeNull();
      expect(x.attrs).toBeUndefined();
      expect(x.dl).toBeUndefined();
      expect(conn).not.toBeInstanceOf(EventEmitter);
    }
    for (const c of clients) c.write(' done\n');
    for (const [i, c] of clients.entries()) expect(await c.waitLines(2)).toEqual([`line ${i}`, 'partial done']);
    for (const conn of l.connections.values()) expect((conn as unknown as Internals).rb).toBeNull();
    // the attributes Map still works, made when first used
    const first = [...l.connections.values()][0]!;
    first.attributes.set('user', 'ann');
    expect(first.attributes.get('user')).toBe('ann');
  });

  it('a StreamClient is still an EventEmitter', () => {
    const c = new StreamClient({ target: 'tcp://127.0.0.1:1' });
    let got = 0;
    c.on('bufferDrain', () => got++);
    c.emit('bufferDrain', undefined as never);
    expect(got).toBe(1);
    expect(typeof c.once).toBe('function');
  });
});
