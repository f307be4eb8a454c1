import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gpidOf } from '@beyod/core';
import { Cleanup, until } from 'test-helpers';
import { portOf, startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const REGISTER = path.resolve(__dirname, '../../../packages/cli/register.js');
const PUSH = path.resolve(__dirname, '../scripts/push.ts');
const push = (gpid: number, message: string, target: string) =>
  promisify(execFile)(process.execPath, ['-r', REGISTER, PUSH, String(gpid), message, target]);

// The seed's story end to end, with real processes: a dispatcher server, a 4-worker cluster
// whose workers subscribe to their own GPID, and a script that pushes to one GPID.
it('a message published to a GPID reaches that worker, also after it was killed and re-forked', async () => {
  const dispatcher = await startExample('dispatcher', { DISPATCHER_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
  const target = `tcp://127.0.0.1:${portOf(await dispatcher.status())}`;
  const cluster = await startExample('cluster-push', { DISPATCHER_TARGET: target }, cleanup);
  const s = await cluster.status();
  expect(s.workers.map((w) => w.gpid)).toEqual([1, 2, 3, 4].map((id) => gpidOf(174, id)));
  const subscribed = () =>
    new Set(
      cluster.run
        .logs()
        .filter((l) => String(l.msg).startsWith('subscribed to my GPID'))
        .map((l) => l.pid),
    );
  await until(() => s.workers.every((w) => subscribed().has(w.pid)), 10000, 'every worker subscribed');

  for (const w of s.workers) {
    const { stdout } = await push(w.gpid, `hello worker ${w.workerId}`, target);
    expect(stdout).toMatch(`delivered to 1 subscriber(s) of ${w.gpid}`);
    const line = await cluster.run.waitLog((l) => l.value === `hello worker ${w.workerId}`);
    expect(line).toMatchObject({ workerId: w.workerId, gpid: w.gpid, pid: w.pid, msg: `message on channel ${w.gpid}` });
  }

  // kill -9 worker 3: it comes back with the same GPID and subscribes again
  const victim = s.workers[2]!;
  process.kill(victim.pid, 'SIGKILL');
  const back = await until(
    async () => {
      const now = await cluster.status();
      const w = now.workers[2]!;
      return w.pid !== victim.pid && w.state === 'ready' && subscribed().has(w.pid) ? w : undefined;
    },
    15000,
    'worker 3 back and subscribed',
  );
  expect(back.gpid).toBe(victim.gpid);
  await push(victim.gpid, 'after the crash', target);
  expect(await cluster.run.waitLog((l) => l.value === 'after the crash')).toMatchObject({ pid: back.pid, gpid: victim.gpid });
});
