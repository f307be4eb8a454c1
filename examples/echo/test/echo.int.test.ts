import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, RawClient } from 'test-helpers';
import { portOf, startBeyod, status } from '../../../packages/cli/test/harness';

const config = path.resolve(__dirname, '../config/main.ts');
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// The README's demo (`npm start`), as a user runs it: 2 workers, then Ctrl-C.
it('the echo demo answers lines and stops cleanly on SIGINT', async () => {
  const env = { ...process.env, ECHO_LISTEN: 'tcp://127.0.0.1:0' };
  const run = startBeyod([], env, config);
  cleanup.add(run, (r) => r.kill());
  await run.waitStarted();
  const s = await status(env, config);
  expect(s.workers.map((w) => w.workerId)).toEqual([1, 2]);
  const c = await RawClient.connect({ host: '127.0.0.1', port: portOf(s) });
  cleanup.add(c, (x) => x.destroy());
  expect(await c.waitLines(1)).toEqual(['welcome to beyod echo; every line you send comes back, quit to leave']);
  c.write('hello beyod\r\nquit\n');
  expect(await c.waitLines(3)).toEqual(['welcome to beyod echo; every line you send comes back, quit to leave', 'hello beyod', 'bye']);
  await c.waitClose();
  process.kill(run.pid, 'SIGINT');
  expect(await run.exited).toBe(0);
  expect(fs.existsSync(path.resolve(__dirname, '../runtime/beyod.pid'))).toBe(false);
});
