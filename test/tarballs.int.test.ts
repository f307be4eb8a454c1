import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, RawClient, tmpDir, until } from 'test-helpers';

/*
 * What a user outside this repository gets: every package packed with `npm pack`, an app
 * scaffolded by the create-beyod tarball (what `npm init beyod` runs) in an empty directory
 * outside the repository, `npm install` with the beyod packages coming from the tarballs only
 * (third-party packages from the registry, or npm's cache), then its type check and its own
 * test, and `npx beyod start`, a real connection, `npx beyod stop`.
 *
 * The tarballs are packed from the dist that `npm test` has just built (--ignore-scripts):
 * prepack's clean rebuild would delete dist under the other test files running in parallel.
 */
const ROOT = path.resolve(__dirname, '..');
const PACKAGES = ['core', 'protocols', 'dispatcher', 'create-beyod', 'cli'];
const VERSION = (require('../packages/cli/package.json') as { version: string }).version;

const npmMissing = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0;
if (npmMissing) console.warn('tarballs.int.test.ts skipped: no npm on PATH');
const maybe = npmMissing ? it.skip : it;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** The environment of a user's shell: none of the npm_* variables of the `npm test` running us. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, BEYOD_LOG_LEVEL: 'info', ...extra };
}

/** Run a command to completion (with a deadline); a non-zero exit fails with its output. */
async function run(cmd: string, args: string[], cwd: string, env = userEnv(), ms = 90_000): Promise<string> {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out}`);
  return out;
}

interface Packed {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

maybe(
  'the packages install from their tarballs into a new app outside the repository, which starts, answers and stops',
  async () => {
    const work = tmpDir('beyod-tarballs-');
    cleanup.defer(() => fs.rmSync(work, { recursive: true, force: true }));
    expect(path.relative(ROOT, work).startsWith('..')).toBe(true);
    const tarballs = path.join(work, 'tarballs');
    fs.mkdirSync(tarballs);

    // 1. npm pack every package; check what goes in
    const packed = JSON.parse(
      await run(
        'npm',
        [
          'pack',
          '--json',
          '--ignore-scripts',
          '--pack-destination',
          tarballs,
          ...PACKAGES.flatMap((p) => ['--workspace', `packages/${p}`]),
        ],
        ROOT,
      ),
    ) as Packed[];
    expect(packed.map((p) => p.name).sort()).toEqual([
      '@beyod/cli',
      '@beyod/core',
      '@beyod/dispatcher',
      '@beyod/protocols',
      'create-beyod',
    ]);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']));
      // no tests, fixtures or build caches (the templates' tests are part of the apps they make)
      const junk = files.filter((f) => !f.startsWith('templates/') && /(^|\/)(test|fixtures)\/|\.test\.|tsbuildinfo|\.log$/.test(f));
      expect({ package: p.name, junk }).toEqual({ package: p.name, junk: [] });
    }

    // 2. npm init beyod, from the create-beyod tarball, in an empty directory
    const createBeyod = path.join(tarballs, `create-beyod-${VERSION}.tgz`);
    await run('npm', ['exec', '--yes', `--package=${createBeyod}`, '--', 'create-beyod', 'app', '--from-tarballs', tarballs], work);
    const app = path.join(work, 'app');
    const pkg = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['@beyod/cli']).toBe(`file:tarballs/beyod-cli-${VERSION}.tgz`);

    // 3. install, type-check, the app's own test
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app, userEnv(), 120_000);
    for (const p of ['@beyod/cli', '@beyod/core', '@beyod/protocols']) {
      expect(fs.realpathSync(path.join(app, 'node_modules', p)).startsWith(app)).toBe(true); // a copy, not a link into the repo
    }
    await run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc')], app);
    expect(await run('npm', ['test'], app)).toMatch(/^# pass [1-9]\d*\n# fail 0$/m);

    // 4. npx beyod start (on a free port: BEYOD_ENV=ci merges config/ci/main.ts), talk to it, npx beyod stop
    fs.mkdirSync(path.join(app, 'config/ci'));
    fs.writeFileSync(
      path.join(app, 'config/ci/main.ts'),
      "export default { components: { server: { listeners: { echo: { listen: 'tcp://127.0.0.1:0' } } } } };\n",
    );
    const env = userEnv({ BEYOD_ENV: 'ci' });
    const server: ChildProcess = spawn('npx', ['beyod', 'start'], { cwd: app, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add(server, (s) => {
      try {
        process.kill(-s.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
    let stderr = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    server.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
    await until(() => /started: 2 workers/.test(stderr), 60_000, `beyod start (${stderr})`);

    const status = JSON.parse(await run('npx', ['beyod', 'status', '--json'], app, env)) as {
      workers: Array<{ listeners: Array<{ address?: string }> }>;
    };
    const port = Number(status.workers[0]!.listeners[0]!.address!.split(':').pop());
    const client = await RawClient.connect({ host: '127.0.0.1', port });
    cleanup.add(client, (c) => c.destroy());
    client.write('hello from a tarball\n');
    expect(await client.waitLines(2, 5000)).toEqual(['welcome to app: every line comes back, quit leaves', 'hello from a tarball']);
    client.destroy();

    expect(await run('npx', ['beyod', 'stop'], app, env)).toMatch(/stopped \(pid \d+\)/);
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(app, 'runtime/beyod.pid'))).toBe(false);
  },
  240_000,
);
