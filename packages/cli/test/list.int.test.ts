import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { FIXTURE_CONFIG, beyod, startExample, startFixture } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Listed {
  id: string;
  pid: number;
  state: string;
  workers: number;
  ready: number;
  configFile: string;
}

/** A registry of our own: tests must not see (or clean) the apps of the user running them. */
function home(): string {
  const dir = tmpDir('beyod-home-');
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, '.beyod');
}

async function list(env: NodeJS.ProcessEnv): Promise<{ apps: Listed[]; stderr: string }> {
  const r = await beyod(['list', '--json'], env);
  if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
  return { apps: JSON.parse(r.stdout) as Listed[], stderr: r.stderr };
}

it('`beyod list` shows every running app of this user; a dead one is cleaned away, a stopped one removes itself', async () => {
  const BEYOD_HOME = home();
  const fixture = await startFixture(cleanup, { BEYOD_HOME, BEYOD_TEST_WORKERS: '2' });
  const echo = await startExample('echo', { BEYOD_HOME, ECHO_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
  const env = { ...process.env, BEYOD_HOME };

  const { apps } = await until(
    async () => {
      const l = await list(env);
      return l.apps.length === 2 && l.apps.every((x) => x.ready === x.workers) ? l : undefined;
    },
    10000,
    'both apps listed and ready',
  );
  expect(apps).toEqual([
    expect.objectContaining({
      id: 'echo',
      pid: echo.run.pid,
      state: 'running',
      configFile: path.resolve(__dirname, '../../../examples/echo/config/main.ts'),
    }),
    expect.objectContaining({ id: 'fixture', pid: fixture.run.pid, state: 'running', workers: 2, ready: 2, configFile: FIXTURE_CONFIG }),
  ]);
  // the registry is private: 0700 directories, 0600 entries
  const dir = path.join(BEYOD_HOME, 'apps');
  expect(fs.statSync(BEYOD_HOME).mode & 0o777).toBe(0o700);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);

  // the human table
  const human = await beyod(['list'], env);
  expect(human.stdout).toMatch(/^name +pid +workers +uptime +status +config$/m);
  expect(human.stdout).toMatch(
    new RegExp(`^fixture +${fixture.run.pid} +2/2 +\\S+ +running +${FIXTURE_CONFIG.replace(/[.]/g, '\\.')}$`, 'm'),
  );

  // killed outright: its entry stays behind until a list finds nobody on its socket
  fixture.run.kill();
  await fixture.run.exited;
  expect(fs.readdirSync(dir)).toHaveLength(2);
  const after = await list(env);
  expect(after.apps.map((x) => x.id)).toEqual(['echo']);
  expect(after.stderr).toMatch(/removed 1 stale entry/);
  expect(fs.readdirSync(dir)).toHaveLength(1);

  // stopped gracefully: it takes its entry away itself
  expect(
    (await beyod(['stop', ...echo.args, '--config', path.resolve(__dirname, '../../../examples/echo/config/main.ts')], env)).code,
  ).toBe(0);
  expect(fs.readdirSync(dir)).toEqual([]);
  const none = await beyod(['list'], env);
  expect(none.stdout).toMatch(/^no beyod app is running for this user/);
});

it('a junk entry is removed; a registry open to others is neither used nor trusted, and the app still starts', async () => {
  const BEYOD_HOME = home();
  const env = { ...process.env, BEYOD_HOME };
  fs.mkdirSync(path.join(BEYOD_HOME, 'apps'), { recursive: true, mode: 0o700 });
  fs.chmodSync(BEYOD_HOME, 0o700);
  fs.writeFileSync(path.join(BEYOD_HOME, 'apps', 'junk.json'), '{not json', { mode: 0o600 });
  expect((await list(env)).apps).toEqual([]);
  expect(fs.readdirSync(path.join(BEYOD_HOME, 'apps'))).toEqual([]);

  fs.chmodSync(path.join(BEYOD_HOME, 'apps'), 0o777);
  const { run } = await startFixture(cleanup, { BEYOD_HOME, BEYOD_TEST_WORKERS: '1' });
  const warning = await run.waitLog((l) => typeof l.msg === 'string' && l.msg.startsWith('not listed by `beyod list`'));
  expect(warning.msg).toMatch(/is accessible to other users \(mode 777\)/);
  expect(fs.readdirSync(path.join(BEYOD_HOME, 'apps'))).toEqual([]);
  expect((await list(env)).apps).toEqual([]);
});
