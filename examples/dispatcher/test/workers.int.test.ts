import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { beyod } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const CONFIG = path.join(__dirname, 'fixtures/two-workers/config/main.ts');

describe('a dispatcher listener needs its server to have one worker', () => {
  it('beyod start refuses workerNum 2 with a message that says why and what to do', async () => {
    const runtime = tmpDir('beyod-dispatcher-');
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const r = await beyod(['start', '--config', CONFIG, '--pid-file', path.join(runtime, 'beyod.pid')], {
      ...process.env,
      BEYOD_LOG_LEVEL: 'info',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/components\.server\.workerNum.*dispatcher.*one process.*workerNum: 1/s);
    expect(fs.existsSync(path.join(runtime, 'beyod.pid'))).toBe(false);
  });

  it('--single runs it (one process, whatever workerNum says)', async () => {
    const runtime = tmpDir('beyod-dispatcher-');
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const args = ['--config', CONFIG, '--pid-file', path.join(runtime, 'beyod.pid')];
    const started = beyod(['start', '--single', ...args], { ...process.env, BEYOD_LOG_LEVEL: 'info' });
    cleanup.defer(() => beyod(['stop', ...args], process.env));
    await until(() => fs.existsSync(path.join(runtime, 'beyod.pid')), 20000, 'started');
    expect((await beyod(['stop', ...args], process.env)).code).toBe(0);
    expect((await started).code).toBe(0);
  });
});
