/* The TypeScript loader: its compile cache is private and keyed by content; errors are short. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, tmpDir } from 'test-helpers';
import { cacheKey } from '../src/register';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const REGISTER = path.resolve(__dirname, '../register.js');
const isRoot = process.getuid?.() === 0;
const nobody = () => Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());

/** A script that prints what it is; a planted cache entry would print (and write) something else. */
function scratch(): { dir: string; script: string; marker: string; env: NodeJS.ProcessEnv } {
  const dir = tmpDir('beyod-ts-');
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'hello.ts');
  fs.writeFileSync(script, "const who: string = 'real';\nprocess.stdout.write(who);\n");
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'xdg'), TMPDIR: path.join(dir, 'tmp') };
  delete env.BEYOD_CACHE_DIR;
  fs.mkdirSync(env.TMPDIR!, { recursive: true });
  return { dir, script, marker: path.join(dir, 'planted-code-ran'), env };
}

function runTs(script: string, env: NodeJS.ProcessEnv): { stdout: string; stderr: string } {
  // cwd without a node_modules above it, so the XDG cache (or BEYOD_CACHE_DIR) is the one used
  const r = spawnSync(process.execPath, ['-r', REGISTER, script], { cwd: path.dirname(script), env, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr };
}

const planted = (marker: string) => `require('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned'); process.stdout.write('planted');\n`;

describe('compiled-TypeScript cache', () => {
  it('a file planted in the shared temp directory (where older versions cached) is never executed', () => {
    const { script, marker, env } = scratch();
    // the old cache: <tmp>/beyod-ts-cache-<uid>/sha1(version, path, size, mtime).js — anyone can compute it
    const dir = path.join(env.TMPDIR!, `beyod-ts-cache-${process.getuid?.() ?? 'user'}`);
    fs.mkdirSync(dir, { mode: 0o777 });
    const st = fs.statSync(script);
    const oldKey = createHash('sha1').update(`1\0${script}\0${st.size}\0${st.mtimeMs}`).digest('hex');
    fs.writeFileSync(path.join(dir, `${oldKey}.js`), planted(marker));
    if (isRoot) fs.chownSync(dir, nobody(), nobody()); // planted by another user
    expect(runTs(script, env).stdout).toBe('real');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a cache directory that others can write to, or that another user owns, is refused', () => {
    const { dir, script, marker, env } = scratch();
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    fs.chmodSync(cache, 0o777);
    const source = fs.readFileSync(script, 'utf8');
    fs.writeFileSync(path.join(cache, `${cacheKey(source, script)}.js`), planted(marker));
    const r = runTs(script, { ...env, BEYOD_CACHE_DIR: cache });
    expect(r.stdout).toBe('real');
    expect(r.stderr).toMatch(`not caching compiled TypeScript in ${cache}: other users can write to it (mode 777)`);
    expect(fs.existsSync(marker)).toBe(false);
    if (isRoot) {
      fs.chmodSync(cache, 0o755);
      fs.chownSync(cache, nobody(), nobody());
      const again = runTs(script, { ...env, BEYOD_CACHE_DIR: cache });
      expect(again.stdout).toBe('real');
      expect(again.stderr).toMatch(`it is owned by uid ${nobody()}, not by us`);
      expect(fs.existsSync(marker)).toBe(false);
    }
  });

  it('entries are keyed by content: an edit that keeps size and mtime is recompiled', () => {
    const { script, env } = scratch();
    expect(runTs(script, env).stdout).toBe('real');
    const cache = path.join(env.XDG_CACHE_HOME!, 'beyod');
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(cache)).toEqual([`${cacheKey(fs.readFileSync(script, 'utf8'), script)}.js`]);
    const st = fs.statSync(script);
    fs.writeFileSync(script, "const who: string = 'edit';\nprocess.stdout.write(who);\n");
    fs.utimesSync(script, st.atime, st.mtime);
    expect(fs.statSync(script).size).toBe(st.size);
    expect(runTs(script, env).stdout).toBe('edit');
  });

  it('a compile error shows the code frame only', () => {
    const { script, env } = scratch();
    fs.writeFileSync(script, 'const x: number = ;\n');
    const r = runTs(script, env);
    expect(r.stderr).toMatch(`TypeScript error in ${script}`);
    expect(r.stderr).toMatch(/Expression expected/);
    expect(r.stderr).not.toMatch(/Stack backtrace|Caused by|v8impl/);
  });
});
