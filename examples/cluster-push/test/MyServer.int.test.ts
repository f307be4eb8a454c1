import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Listener, gpidOf, rootLogger, setRootLogger } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';
import pino from 'pino';
import { Cleanup, until } from 'test-helpers';
import { MyServer } from '../app/MyServer';
import config from '../config/main';
import { pushTo } from '../scripts/push';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Log lines written through the root logger while a test runs. */
function captureLogs(): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const saved = rootLogger();
  setRootLogger(pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) }));
  cleanup.defer(() => setRootLogger(saved));
  return lines;
}

async function dispatcher(): Promise<{ listener: Listener; handler: Handler; target: string }> {
  const listener = Object.assign(new Listener(), { listen: 'tcp://127.0.0.1:0', handler: Handler, parser: Parser });
  await listener.start();
  cleanup.add(listener, (l) => l.stop(0));
  return { listener, handler: listener.handlerInstance as Handler, target: `tcp://127.0.0.1:${listener.port}` };
}

/** A worker of the cluster-push app, started in this process as `beyod` would start it. */
async function worker(workerId: number, target: string): Promise<MyServer> {
  const server = Object.assign(new MyServer(), { serverId: 174, dispatcher: target, listeners: {} });
  server.init();
  await server.startWorker(workerId);
  cleanup.add(server, (s) => s.stopWorker(1));
  return server;
}

describe('examples/cluster-push', () => {
  it('the config runs MyServer with serverId 174 and no listeners', () => {
    const server = config.components.server;
    expect(server.class).toBe(MyServer);
    expect(server.serverId).toBe(174);
    expect(server.listeners).toEqual({});
  });

  it('each worker subscribes to its GPID; a push to one GPID reaches that worker only, which logs it', async () => {
    const logs = captureLogs();
    const { handler, target } = await dispatcher();
    const w1 = await worker(1, target);
    const w4 = await worker(4, target);
    expect(w1.getGpid()).toBe(gpidOf(174, 1));
    await until(() => handler.getStats().subscribers === 2, 3000, 'both workers subscribed');
    expect(await pushTo(target, w4.getGpid(), { text: 'hello worker 4' })).toBe(1);
    const got = await until(() => logs.find((l) => String(l.msg).startsWith('message on channel')), 3000, 'message logged');
    expect(got).toMatchObject({
      msg: `message on channel ${gpidOf(174, 4)}`,
      workerId: 4,
      gpid: gpidOf(174, 4),
      value: { text: 'hello worker 4' },
    });
    expect(logs.filter((l) => String(l.msg).startsWith('message on channel'))).toHaveLength(1);
    expect(await pushTo(target, gpidOf(174, 9), 'nobody')).toBe(0);
  });

  it('a worker started while the dispatcher is down still starts', async () => {
    captureLogs();
    const w = await worker(2, 'tcp://127.0.0.1:1');
    expect(w.client?.connected).toBe(false);
  });

  it('scripts/push.ts publishes from the command line and says how many got it', async () => {
    const { target } = await dispatcher();
    await worker(3, target);
    const root = path.resolve(__dirname, '../../..');
    const script = path.join(__dirname, '../scripts/push.ts');
    const run = promisify(execFile);
    await until(
      async () => {
        const { stdout } = await run(
          process.execPath,
          ['-r', '@beyod/cli/register', script, String(gpidOf(174, 3)), 'from the shell', target],
          {
            cwd: root,
          },
        ).catch((e: { stdout: string }) => e);
        return stdout.includes(`delivered to 1 subscriber(s) of ${gpidOf(174, 3)}`);
      },
      10000,
      'push.ts delivered',
    );
  });
});
