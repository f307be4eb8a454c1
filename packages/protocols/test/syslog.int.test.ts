import * as dgram from 'node:dgram';
import { type ErrorEvent, Handler, Listener, type MessageEvent } from '@beyod/core';
import { syslog } from '@beyod/protocols';
import { Cleanup, RawClient, until } from 'test-helpers';

/** Keeps what a syslog listener delivers. */
class Collector extends Handler {
  readonly messages: Array<{ peer: string; message: syslog.SyslogMessage }> = [];
  readonly bad: Error[] = [];

  override onMessage(event: MessageEvent): void {
    this.messages.push({ peer: event.sender.peer, message: event.message as syslog.SyslogMessage });
  }

  override onBadPacket(event: ErrorEvent): void {
    this.bad.push(event.error);
  }
}

describe('syslog listeners (real sockets)', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  async function listen(url: string): Promise<{ listener: Listener; handler: Collector }> {
    const handler = new Collector();
    const listener = Object.assign(new Listener(), { listen: url, handler, parser: syslog.Parser });
    await listener.start();
    cleanup.defer(() => listener.stop());
    return { listener, handler };
  }

  it('takes one message per UDP datagram, malformed ones included, and carries on', async () => {
    const { listener, handler } = await listen('udp://127.0.0.1:0');
    const sock = cleanup.add(dgram.createSocket('udp4'), (s) => s.close());
    const send = (s: string) =>
      new Promise<void>((resolve, reject) => sock.send(s, listener.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await send('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [a@1 k="v"] first\n');
    await send('not syslog at all');
    await send('<13>Feb  5 17:32:18 host app[9]: line one\nline two');
    await until(() => handler.messages.length === 3, 2000, 'three datagrams');
    const [first, bad, multi] = handler.messages.map((m) => m.message);
    expect(first).toMatchObject({
      facility: 4,
      severity: 2,
      appName: 'su',
      msgId: 'ID47',
      structuredData: { 'a@1': { k: 'v' } },
      message: 'first',
    });
    expect(bad).toMatchObject({ format: 'unknown', error: expect.stringMatching(/PRI/), message: 'not syslog at all' });
    expect(multi).toMatchObject({ appName: 'app', procId: '9', message: 'line one\nline two' }); // a datagram is one message
    expect(handler.messages[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(handler.bad).toEqual([]);
  });

  it('detects newline and octet-counting framing per TCP connection', async () => {
    const { listener, handler } = await listen('tcp://127.0.0.1:0');
    const lines = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    const counted = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    lines.write('<13>1 - h lines - - - one\r\n<13>1 - h li');
    const body = '<13>1 - h counted - - - multi\nline';
    counted.write(`${Buffer.byteLength(body)} ${body}${Buffer.byteLength(body)} `);
    counted.write(body);
    lines.write('nes - - - two\n');
    await until(() => handler.messages.length === 4, 2000, 'four messages');
    const by = (app: string) => handler.messages.filter((m) => m.message.appName === app).map((m) => m.message.message);
    expect(by('lines')).toEqual(['one', 'two']);
    expect(by('counted')).toEqual(['multi\nline', 'multi\nline']);
  });

  it('closes only the connection that breaks octet counting; a peer leaving mid-message is no error', async () => {
    const { listener, handler } = await listen('tcp://127.0.0.1:0');
    const good = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    const broken = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    const leaver = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listener.port }), (c) => c.destroy());
    broken.write('10 <13>x yz12x3 garbage');
    await broken.waitClose();
    expect(handler.bad.map((e) => (e as Error & { code: string }).code)).toEqual([syslog.SyslogErrorCodes.FRAMING]);
    leaver.write('100 <13>1 - h leaver - - - cut');
    leaver.destroy();
    await until(() => listener.connections.size === 1, 2000, 'leaver gone');
    good.write('<13>1 - h good - - - still here\n');
    await until(() => handler.messages.some((m) => m.message.appName === 'good'), 2000, 'message on the good connection');
    expect(handler.messages.map((m) => m.message.appName)).toEqual([undefined, 'good']);
  });
});
