import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from 'test-helpers';
import {
  BEYOD_PACKAGES,
  BEYOD_VERSION,
  CreateErrorCodes,
  TEMPLATES_DIR,
  listTemplates,
  packageNameFrom,
  scaffold,
  tarballName,
} from 'create-beyod';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const scratch = () => {
  const d = tmpDir('create-beyod-');
  dirs.push(d);
  return d;
};
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const pkgOf = (dir: string) =>
  JSON.parse(read(dir, 'package.json')) as {
    name: string;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    overrides?: Record<string, string>;
  };
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};
const BIN = path.resolve(__dirname, '../bin/create-beyod.js');

describe('scaffold', () => {
  it('lists echo first (the default), then the other templates', () => {
    expect(listTemplates().map((t) => t.name)).toEqual(['echo', 'cluster', 'http', 'websocket']);
    for (const t of listTemplates()) expect(t.description).not.toBe('');
  });

  it.each(listTemplates().map((t) => t.name))('%s: a complete app, every placeholder filled', (template) => {
    const dir = path.join(scratch(), 'My Shop');
    const r = scaffold({ dir, template });
    expect(r).toMatchObject({ dir, name: 'my-shop', template });
    for (const f of [
      'package.json',
      'tsconfig.json',
      '.gitignore',
      'README.md',
      'config/main.ts',
      'config/dev/main.ts',
      'app/AppServer.ts',
    ]) {
      expect(r.files).toContain(f);
    }
    expect(r.files.some((f) => /^test\/.+\.test\.ts$/.test(f))).toBe(true);
    expect(r.files).not.toContain('template.json');
    expect(r.files).not.toContain('_gitignore');
    expect(read(dir, '.gitignore').split('\n')).toEqual(expect.arrayContaining(['node_modules/', 'runtime/']));
    expect(JSON.parse(read(dir, 'tsconfig.json').replace(/^\s*\/\/.*$/gm, ''))).toMatchObject({ extends: '@beyod/cli/tsconfig.json' });
    for (const f of r.files) expect(read(dir, f)).not.toMatch(/__APP_NAME__|__BEYOD_VERSION__/);
    const pkg = pkgOf(dir);
    expect(pkg.name).toBe('my-shop');
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(['start', 'stop', 'test', 'typecheck']));
    expect(pkg.dependencies['@beyod/cli']).toBe(`^${BEYOD_VERSION}`);
    expect(pkg.dependencies['@beyod/core']).toBe(`^${BEYOD_VERSION}`);
    expect(pkg.devDependencies).toHaveProperty('@types/node');
    expect(read(dir, 'config/main.ts')).toContain("id: 'my-shop'");
  });

  it('a directory name that is no npm name becomes one; --name is checked', () => {
    expect(packageNameFrom('My Shop!')).toBe('my-shop');
    expect(packageNameFrom('.hidden')).toBe('hidden');
    expect(packageNameFrom('***')).toBe('beyod-app');
    expect(codeOf(() => scaffold({ dir: path.join(scratch(), 'a'), name: 'Bad Name' }))).toBe(CreateErrorCodes.BAD_NAME);
    expect(scaffold({ dir: path.join(scratch(), 'a'), name: '@acme/shop' }).name).toBe('@acme/shop');
  });

  it('refuses a directory that holds files, and writes nothing there', () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(codeOf(() => scaffold({ dir }))).toBe(CreateErrorCodes.DIR_NOT_EMPTY);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    const file = path.join(dir, 'notes.txt');
    expect(codeOf(() => scaffold({ dir: file }))).toBe(CreateErrorCodes.DIR_NOT_EMPTY);
  });

  it('takes an empty directory, or one with only .git', () => {
    const dir = scratch();
    fs.mkdirSync(path.join(dir, '.git'));
    expect(scaffold({ dir }).files).toContain('package.json');
  });

  it('refuses an unknown template, naming the ones there are', () => {
    expect(() => scaffold({ dir: path.join(scratch(), 'a'), template: 'chat' })).toThrow(
      /unknown template 'chat'; choose one of echo, cluster, http, websocket/,
    );
  });
});

describe('--from-tarballs', () => {
  /** A directory with a (fake) tarball of each package, except those in `skip`. */
  function tarballs(skip: string[] = []): string {
    const dir = scratch();
    for (const p of BEYOD_PACKAGES) if (!skip.includes(p)) fs.writeFileSync(path.join(dir, tarballName(p, BEYOD_VERSION)), p);
    return dir;
  }

  it('copies the tarballs into the app and points dependencies and overrides at the copies', () => {
    const from = tarballs();
    const dir = path.join(scratch(), 'app');
    const r = scaffold({ dir, template: 'cluster', fromTarballs: from });
    const spec = (p: string) => `file:tarballs/${tarballName(p, BEYOD_VERSION)}`;
    const pkg = pkgOf(dir);
    expect(pkg.dependencies).toMatchObject({
      '@beyod/cli': spec('@beyod/cli'),
      '@beyod/core': spec('@beyod/core'),
      '@beyod/protocols': spec('@beyod/protocols'),
      '@beyod/dispatcher': spec('@beyod/dispatcher'),
    });
    // every package, so the CLI's own dependency on create-beyod does not go to the registry
    expect(pkg.overrides).toEqual(Object.fromEntries(BEYOD_PACKAGES.map((p) => [p, spec(p)])));
    for (const p of BEYOD_PACKAGES) {
      expect(r.files).toContain(`tarballs/${tarballName(p, BEYOD_VERSION)}`);
      expect(read(dir, `tarballs/${tarballName(p, BEYOD_VERSION)}`)).toBe(p);
    }
    expect(pkg.devDependencies.typescript).toBeDefined(); // third-party packages still come from the registry
  });

  it('names a missing tarball and how to make it, before writing anything', () => {
    const from = tarballs(['create-beyod']);
    const dir = path.join(scratch(), 'app');
    expect(() => scaffold({ dir, fromTarballs: from })).toThrow(
      new RegExp(`lacks ${tarballName('create-beyod', BEYOD_VERSION)} .*npm run pack:tarballs`),
    );
    expect(fs.existsSync(dir)).toBe(false);
    expect(codeOf(() => scaffold({ dir, fromTarballs: path.join(from, 'nope') }))).toBe(CreateErrorCodes.TARBALL_MISSING);
  });
});

describe('the create-beyod command (npm init beyod)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: scratch() });

  it('creates the app and says what to do next', () => {
    const r = run('shop', '--template', 'http');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Created shop from the http template in .*\n\n {2}cd shop\n {2}npm install\n {2}npm start/);
    expect(r.stdout).toContain('curl http://127.0.0.1:8080/api/hello/you');
  });

  it('--help lists the templates; bad arguments exit 2 with the usage; errors exit 1', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    for (const t of ['echo', 'http', 'websocket', 'cluster']) expect(help.stdout).toContain(`  ${t} `);
    const none = run();
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/name one directory to create\n\nusage: npm init beyod <dir>/);
    expect(run('a', '--colour').status).toBe(2);
    const bad = run('a', '--template', 'nope');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe("create-beyod: unknown template 'nope'; choose one of echo, cluster, http, websocket\n");
  });

  it('ships its templates in the package (templates/ is in files)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('templates');
    expect(path.relative(path.resolve(__dirname, '..'), TEMPLATES_DIR)).toBe('templates');
  });
});
