import { Client, type Delivery } from '@beyod/dispatcher';
import { Cleanup, until } from 'test-helpers';
import * as path from 'node:path';
import { beyod, portOf, startExample } from '../../../packages/cli/test/harness';

const DISPATCHER_CONFIG = path.resolve(__dirname, '../config/main.ts');

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// The dispatcher example through the real CLI: `beyod reload` moves its clients to the new
// worker (live handoff) with their subscriptions and their authentication — no reconnect.
it('a reload keeps the clients connected, subscribed and authenticated', async () => {
  const d = await startExample('dispatcher', { DISPATCHER_LISTEN: 'tcp://127.0.0.1:0', DISPATCHER_TOKEN: 'sesame' }, cleanup);
  const target = `tcp://127.0.0.1:${portOf(await d.status())}`;
  const closes: string[] = [];
  const connect = async (channel?: string) => {
    const c = new Client({ target, token: 'sesame', ...(channel && { defaultChannel: channel }) });
    cleanup.add(c, (x) => x.close());
    c.on('close', (e) => closes.push(e.reason));
    await c.connect();
    return c;
  };
  const sub = await connect('news');
  await sub.subscribe(['sports']);
  const pub = await connect();
  const got: Delivery[] = [];
  sub.on('message', (e) => got.push(e.message));
  await pub.publish('news', 'before');
  await until(() => got.length === 1, 5000, 'the first delivery');

  const reload = await beyod(['reload', ...d.args, '--config', DISPATCHER_CONFIG], d.env, 60000);
  expect(reload.code).toBe(0);
  expect(reload.stderr).toMatch(/\(2 connections moved, 0 drained\)/);

  // both subscriptions work in the new worker, and pub is still authenticated there
  await pub.publish('news', 'after');
  await pub.publish('sports', 'goal');
  await until(() => got.length === 3, 5000, 'deliveries after the reload');
  expect(got.map((m) => m.value)).toEqual(['before', 'after', 'goal']);
  expect(closes).toEqual([]);
});
