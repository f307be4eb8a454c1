import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { ConnectionInfo } from '@beyod/core';
import { Cleanup, RawClient, until } from 'test-helpers';
import { beyod, portOf, startExample, startFixture, status } from './harness';

const CHAT_CONFIG = path.resolve(__dirname, '../../../examples/websocket-chat/config/main.ts');
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

it('`beyod status` shows each listener with its address, the workers serving it and its connections', async () => {
  const { env } = await startFixture(cleanup, { BEYOD_TEST_WORKERS: '2' });
  const port = portOf(await status(env));
  const open = await RawClient.connect({ port, host: '127.0.0.1' });
  cleanup.add(open, (c) => c.destroy());
  open.write('hello\n');
  await open.waitLines(1);
  const r = await beyod(['status'], env);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^listener +listen +address +workers +conns$/m);
  expect(r.stdout).toMatch(new RegExp(`^who +tcp://127\\.0\\.0\\.1:0 +127\\.0\\.0\\.1:${port} +2 +1$`, 'm'));
});

it('`beyod connections` labels each connection with its protocol: http, then websocket once upgraded', async () => {
  const example = await startExample('websocket-chat', { CHAT_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
  const { env, args } = example;
  const port = portOf(await example.status());
  const list = async () => {
    const r = await beyod(['connections', '--json', ...args, '--config', CHAT_CONFIG], env);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as ConnectionInfo[];
  };
  // a plain HTTP connection, kept alive
  const http = await RawClient.connect({ port, host: '127.0.0.1' });
  cleanup.add(http, (c) => c.destroy());
  http.write('GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n');
  await http.waitUntil((b) => b.includes('\r\n\r\n'), 3000, 'an HTTP answer');
  // and a WebSocket
  const ws = await RawClient.connect({ port, host: '127.0.0.1' });
  cleanup.add(ws, (c) => c.destroy());
  const key = crypto.randomBytes(16).toString('base64');
  ws.write(
    `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await ws.waitUntil((b) => b.includes('\r\n\r\n'), 3000, 'the 101');
  expect(ws.received.toString()).toMatch(/^HTTP\/1\.1 101/);
  const conns = await until(
    async () => {
      const l = await list();
      return l.length === 2 ? l : undefined;
    },
    5000,
    'two connections',
  );
  const byPeer = new Map(conns.map((c) => [Number(c.peer.split(':').pop()), c.protocol]));
  expect(byPeer.get(http.socket.localPort!)).toBe('tcp/http');
  expect(byPeer.get(ws.socket.localPort!)).toBe('tcp/websocket');
  const human = await beyod(['connections', ...args, '--config', CHAT_CONFIG], env);
  expect(human.stdout).toMatch(/tcp\/websocket/);
  expect(human.stdout).toMatch(/tcp\/http/);
});
