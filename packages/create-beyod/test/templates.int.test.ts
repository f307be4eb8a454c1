import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTemplates, scaffold } from 'create-beyod';
import { tmpDir } from 'test-helpers';

// Each template, scaffolded into a directory outside the repository, must type-check with the
// tsconfig it ships and pass its own test (`npm test`: node:test on real sockets). The app
// reaches this checkout's packages through a node_modules link (the workspace's), so this runs
// without the network; test/tarballs.int.test.ts installs from `npm pack` tarballs instead.
const ROOT = path.resolve(__dirname, '../../..');
if (!fs.existsSync(path.join(ROOT, 'packages/cli/dist/index.js'))) {
  throw new Error('the packages are not built: run `npm test` (it builds first) or `npm run build`');
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Run a command to completion, with a deadline; resolves with its exit code and output. */
function exec(cmd: string, args: string[], cwd: string, ms = 120_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BEYOD_ENV: '' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

it.each(listTemplates().map((t) => t.name))(
  'the %s template type-checks and passes its own test',
  async (template) => {
    const parent = tmpDir(`beyod-${template}-`);
    dirs.push(parent);
    const { dir } = scaffold({ dir: path.join(parent, `my-${template}`), template });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');

    const tsc = await exec(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], dir);
    expect(tsc.out).toBe('');
    expect(tsc.code).toBe(0);

    const test = await exec('npm', ['test', '--silent'], dir);
    if (test.code !== 0) throw new Error(`npm test failed in the ${template} app (exit ${test.code}):\n${test.out}`);
    expect(test.out).toMatch(/^# fail 0$/m);
    expect(test.out).not.toMatch(/^# pass 0$/m);
  },
  180_000,
);
