import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { ask, beyod, portOf, startBeyod, status } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const ROOT = path.resolve(__dirname, '../../..');

const CONFIG = `import { defineConfig } from '@beyod/core';
import { text } from '@beyod/protocols';
import { Answer } from '../app/Answer';

export default defineConfig({
  id: 'watched',
  components: {
    server: {
      workerNum: 2,
      stopTimeout: 1,
      listeners: { line: { listen: process.env.WATCH_LISTEN ?? 'tcp://127.0.0.1:0', parser: text.Parser, handler: Answer } },
    },
  },
});
`;

const handler = (version: string) => `import { Handler, type MessageEvent } from '@beyod/core';

export class Answer extends Handler {
  override onMessage(event: MessageEvent<string>): void {
    event.sender.send('${version} ' + event.message);
  }
}
`;

/** An app of its own, outside the repository; its node_modules is the repository's. */
function makeApp(): string {
  const dir = tmpDir('beyod-watch-');
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'config'));
  fs.mkdirSync(path.join(dir, 'app'));
  fs.writeFileSync(path.join(dir, 'config/main.ts'), CONFIG);
  fs.writeFileSync(path.join(dir, 'app/Answer.ts'), handler('v1'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

it('start --watch: an edited handler is reloaded in without a refused connection; a file that does not compile keeps the old workers', async () => {
  const dir = makeApp();
  const env = { ...process.env, BEYOD_LOG_LEVEL: 'warn', BEYOD_HOME: path.join(dir, 'runtime', 'home') };
  const run = startBeyod(['--watch'], env, dir);
  cleanup.add(run, (r) => r.kill());
  await run.waitStarted();
  await until(() => /watching .* for changes/.test(run.stderr), 5000, 'the watcher');
  const s = await status(env, dir);
  const port = portOf(s);
  expect(await ask(port, 'hi')).toBe('v1 hi');

  // clients keep connecting all along: none may be refused or left unanswered
  let stop = false;
  const answers: string[] = [];
  const failures: string[] = [];
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        answers.push(await ask(port, `n${i}`));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  })();
  cleanup.defer(async () => {
    stop = true;
    await load;
  });

  // files under runtime/, node_modules/ and .git/ do not count
  fs.mkdirSync(path.join(dir, '.git'));
  fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: x\n');
  fs.writeFileSync(path.join(dir, 'runtime', 'scratch.txt'), 'x');
  fs.writeFileSync(path.join(dir, 'app/Answer.ts'), handler('v2'));
  await until(async () => (await ask(port, 'hi')) === 'v2 hi', 20000, 'the new handler answering');
  expect(run.stderr).toMatch(/changed: app\/Answer\.ts; reloading/);
  expect(run.stderr).not.toMatch(/changed: .*(runtime|\.git|scratch)/);
  await until(() => /reloaded 2 workers/.test(run.stderr), 10000, 'the reload report');

  // a syntax error: reported, and the workers running keep answering with what they had
  const before = run.stderr.length;
  fs.writeFileSync(path.join(dir, 'app/Answer.ts'), `${handler('v3')}\nconst broken: number = ;\n`);
  await until(() => /reload refused, no worker was replaced/.test(run.stderr.slice(before)), 20000, 'the refusal');
  const refusal = run.stderr.slice(before);
  expect(refusal).toMatch(/Answer\.ts/);
  expect(refusal).toMatch(/the workers running keep the code they had/);
  expect(await ask(port, 'still')).toBe('v2 still');
  expect((await status(env, dir)).workers.every((w) => w.state === 'ready')).toBe(true);

  // fixed: reloaded
  fs.writeFileSync(path.join(dir, 'app/Answer.ts'), handler('v4'));
  await until(async () => (await ask(port, 'hi')) === 'v4 hi', 20000, 'the fixed handler answering');
  stop = true;
  await load;
  expect(failures).toEqual([]);
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.every((a) => /^v[124] n\d+$/.test(a))).toBe(true);
  // the listener was never dropped: same port all along
  expect(portOf(await status(env, dir))).toBe(port);
  expect((await beyod(['stop', '--config', dir], env)).code).toBe(0);
});

it('--watch is refused with --daemon and --single', async () => {
  const dir = makeApp();
  for (const flag of ['--daemon', '--single']) {
    const r = await beyod(['start', '--watch', flag, '--config', dir], process.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--watch is for development, in the foreground: not with --/);
  }
});
