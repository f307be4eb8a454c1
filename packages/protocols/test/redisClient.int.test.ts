/* redis.Client against a scripted fake server (a beyod Listener framing commands with redis.Parser): bad servers. */
import { Handler, Listener, type MessageEvent } from '@beyod/core';
import { redis } from '@beyod/protocols';
import { Cleanup, until } from 'test-helpers';

const { RedisErrorCodes } = redis;

/** Answers each command with what `script` returns for it (raw bytes; undefined = no answer). */
class ScriptedRedis extends Handler {
  commands: string[][] = [];
  connections = 0;
  script: (command: string[], connectionNumber: number) => string | undefined = () => '+OK\r\n';

  override onConnect(): void {
    this.connections++;
  }

  override onMessage(event: MessageEvent): void {
    const command = event.message as string[];
    this.commands.push(command);
    const reply = this.script(command, this.connections);
    if (reply !== undefined) event.sender.send(reply, true);
  }
}

describe('redis.Client against a misbehaving server', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  async function fake(script: ScriptedRedis['script']): Promise<{ handler: ScriptedRedis; url: string; listener: Listener }> {
    const handler = Object.assign(new ScriptedRedis(), { script });
    const listener = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', handler, parser: redis.Parser });
    await listener.start();
    cleanup.defer(() => listener.stop());
    return { handler, url: `tcp://127.0.0.1:${listener.port}`, listener };
  }

  function client(url: string, options: Partial<redis.RedisClientOptions> = {}): redis.Client {
    return cleanup.add(new redis.Client({ target: url, reconnectInterval: 0.05, ...options }), (c) => c.close());
  }

  it('closes on bytes that are not RESP, fails the command in flight, and reconnects', async () => {
    const { handler, url } = await fake((cmd, n) => (n === 1 ? '%%% not resp\r\n' : '+PONG\r\n'));
    const c = client(url);
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    const err = await c.ping().catch((e: unknown) => e as redis.RedisReplyError);
    expect(err).toMatchObject({ code: RedisErrorCodes.CONNECTION_LOST });
    expect((err as Error).cause).toMatchObject({ code: RedisErrorCodes.PROTOCOL });
    expect(errors.map((e) => (e as redis.RedisReplyError).code)).toContain(RedisErrorCodes.PROTOCOL);
    await until(() => c.ready && handler.connections === 2, 3000, 'reconnected');
    expect(await c.ping()).toBe('PONG');
  });

  it('fails the command whose reply was cut off when the server disconnects mid-reply', async () => {
    const { url, listener } = await fake((cmd) => {
      if (cmd[0] === 'GET') {
        for (const conn of listener.connections.values()) {
          conn.send('$10\r\nabc', true);
          conn.close();
        }
        return undefined;
      }
      return '+OK\r\n';
    });
    const c = client(url, { reconnectInterval: 0 });
    await c.connect();
    expect(await c.set('k', 'v')).toBe('OK');
    await expect(c.get('k')).rejects.toMatchObject({ code: RedisErrorCodes.CONNECTION_LOST });
    await expect(c.get('k')).rejects.toMatchObject({ code: 'BEYOD_NOT_CONNECTED' });
  });

  it('treats a reply nobody asked for as a protocol error', async () => {
    const { listener, url } = await fake(() => '+OK\r\n');
    const c = client(url, { reconnectInterval: 0 });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    let closed = false;
    c.on('close', () => (closed = true));
    for (const conn of listener.connections.values()) conn.send(':1\r\n', true);
    await until(() => closed); // (events.once would reject on the 'error' emitted first)
    expect(errors[0]).toMatchObject({ code: RedisErrorCodes.PROTOCOL, message: expect.stringMatching(/no command waiting/) });
  });

  it('sends HELLO 3 with AUTH and SETNAME for resp: 3, and fails the connect if HELLO is refused', async () => {
    const { handler, url } = await fake((cmd) => (cmd[0] === 'HELLO' ? "-ERR unknown command 'HELLO'\r\n" : '+OK\r\n'));
    const c = client(url, { resp: 3, password: 'pw', username: 'app', name: 'me', db: 2 });
    await expect(c.connect()).rejects.toMatchObject({ code: RedisErrorCodes.HANDSHAKE_FAILED });
    expect(handler.commands[0]).toEqual(['HELLO', '3', 'AUTH', 'app', 'pw', 'SETNAME', 'me']);
    expect(handler.commands[1]).toEqual(['SELECT', '2']);
  });

  it('sends AUTH user pass, CLIENT SETNAME and SELECT before queued commands on RESP2', async () => {
    const { handler, url } = await fake((cmd) => (cmd[0] === 'GET' ? '$2\r\nok\r\n' : '+OK\r\n'));
    const c = client(url, { password: 'pw', username: 'app', name: 'me', db: 4 });
    const connecting = c.connect();
    const v = c.get('k');
    await connecting;
    expect(await v).toBe('ok');
    expect(handler.commands).toEqual([
      ['AUTH', 'app', 'pw'],
      ['CLIENT', 'SETNAME', 'me'],
      ['SELECT', '4'],
      ['GET', 'k'],
    ]);
  });

  it('a pipeline far over maxSendBuffer loses no command (RESP is a stream: sends are never dropped)', async () => {
    // Failed before without the client's maxSendBuffer = MAX_SAFE_INTEGER workaround: past
    // 1 MiB queued, commands were dropped and their promises never settled. The fake server
    // speaks RESP too, so it stops reading while its replies back up instead of dropping them.
    const { handler, url, listener } = await fake((cmd) => `$${String(cmd[1]).length}\r\n${String(cmd[1])}\r\n`);
    const c = client(url);
    await c.connect();
    const value = 'v'.repeat(8 * 1024);
    const replies = await Promise.all(Array.from({ length: 3000 }, (_, i) => c.call('ECHO', `${i}`, value)));
    expect(replies).toEqual(Array.from({ length: 3000 }, (_, i) => `${i}`));
    expect(handler.commands.length).toBe(3000);
    expect(c.messagesDropped).toBe(0);
    expect(listener.getStats().dropped).toBe(0);
  });

  it('keeps MULTI ... EXEC together even when queued while connecting', async () => {
    const { handler, url } = await fake((cmd) =>
      cmd[0] === 'EXEC' ? '*2\r\n+OK\r\n:2\r\n' : cmd[0] === 'MULTI' ? '+OK\r\n' : '+QUEUED\r\n',
    );
    const c = client(url);
    const connecting = c.connect();
    const other = c.set('x', '1');
    const tx = c.multi().set('a', '1').incr('n').exec();
    await connecting;
    expect(await tx).toEqual(['OK', 2]);
    expect(await other).toBe('QUEUED');
    expect(handler.commands.map((x) => x[0])).toEqual(['SET', 'MULTI', 'SET', 'INCR', 'EXEC']);
  });
});
