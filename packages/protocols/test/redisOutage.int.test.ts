/* A Redis client that cannot connect says so once per outage, not once per attempt. */
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { rootLogger, setRootLogger } from '@beyod/core';
import { redis } from '@beyod/protocols';
import { Cleanup, until } from 'test-helpers';
import pino from 'pino';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function memoryLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('logs a refused connection once per outage, and once when Redis is back', async () => {
  const port = await closedPort();
  const { logger, lines } = memoryLogger();
  const client = new redis.Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0.05, logger });
  cleanup.add(client, (c) => c.close());
  const attempts: Error[] = [];
  client.on('error', (e) => attempts.push(e));
  void client.connect();
  await until(() => attempts.length >= 5, 5000, 'five refused attempts');
  const warnings = lines.filter((l) => l.level === 40);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]!.msg).toMatch(
    `redis at tcp://127.0.0.1:${port} is unreachable: cannot connect to tcp://127.0.0.1:${port}: connect ECONNREFUSED`,
  );
  expect(warnings[0]!.msg).toMatch('retrying every 0.05 s (logged once per outage)');
  // Redis comes back (anything accepting will do for the connect)
  const server = net.createServer((s) => s.on('error', () => {}));
  cleanup.add(server, (s) => s.close());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  await until(() => lines.some((l) => typeof l.msg === 'string' && (l.msg as string).includes('is reachable again after')), 5000, 'back');
  expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
});

it('logs to the root logger by default; logger: false keeps it silent', async () => {
  const port = await closedPort();
  const previous = rootLogger();
  const { logger, lines } = memoryLogger();
  setRootLogger(logger);
  cleanup.defer(() => setRootLogger(previous));
  const quiet = new redis.Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0.05, logger: false });
  cleanup.add(quiet, (c) => c.close());
  const attempts: Error[] = [];
  quiet.on('error', (e) => attempts.push(e));
  void quiet.connect();
  await until(() => attempts.length >= 3, 5000, 'refused attempts');
  expect(lines).toEqual([]);
  const loud = new redis.Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0.05 });
  cleanup.add(loud, (c) => c.close());
  void loud.connect();
  const warning = await until(() => lines.find((l) => l.level === 40), 5000, 'a warning');
  expect(warning).toMatchObject({ redis: `tcp://127.0.0.1:${port}` });
});
