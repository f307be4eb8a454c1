import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

let registered = false;

type Loader = (module: Module & { _compile(code: string, filename: string): void }, filename: string) => void;
type Swc = typeof import('@swc/core');

/** Bump when the compile options change, so old cache entries are not used. */
const OPTIONS_VERSION = 2;

/**
 * Let require() load TypeScript — the app's config and classes — with no build step.
 *
 * We call @swc/core directly rather than through a register package: swc keeps decorator
 * metadata (constructor injection needs design:paramtypes; esbuild/tsx drops it), and going
 * direct avoids loading the `typescript` package, which cost every worker ~0.5 s and ~50 MB
 * (measured here). Compiled output is cached on disk, keyed by a hash of the source itself, in
 * a directory only this user can write (see tsCacheDir), so a re-forked worker does not even
 * load swc. Inline source maps keep stack traces on the .ts lines.
 */
export function registerTypeScript(): void {
  if (registered) return;
  registered = true;
  process.setSourceMapsEnabled(true);
  let swc: Swc | undefined;
  let cacheDir: string | null | undefined; // undefined: not chosen yet; null: no disk cache
  const compile: Loader = (module, filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    if (cacheDir === undefined) cacheDir = tsCacheDir();
    const cached = cacheDir && path.join(cacheDir, `${cacheKey(source, filename)}.js`);
    let code: string | undefined;
    if (cached) {
      try {
        code = fs.readFileSync(cached, 'utf8');
      } catch {
        /* not cached yet */
      }
    }
    if (code === undefined) {
      swc ??= require('@swc/core') as Swc;
      code = transpile(swc, source, filename);
      if (cached) writeAtomically(cached, code);
    }
    module._compile(code, filename);
  };
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  extensions['.ts'] = compile;
  extensions['.cts'] = compile;
}

/** The cache entry's name: a hash of what is compiled (the source, its path) and how. */
export function cacheKey(source: string, filename: string): string {
  return createHash('sha256').update(`${OPTIONS_VERSION}\0${swcVersion()}\0${filename}\0${source}`).digest('hex');
}

let swcVersionCache: string | undefined;
function swcVersion(): string {
  if (swcVersionCache === undefined) {
    try {
      swcVersionCache = (JSON.parse(fs.readFileSync(require.resolve('@swc/core/package.json'), 'utf8')) as { version: string }).version;
    } catch {
      swcVersionCache = '?';
    }
  }
  return swcVersionCache;
}

function writeAtomically(file: string, code: string): void {
  try {
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, code, { mode: 0o600 });
    fs.renameSync(tmp, file); // a worker never reads a half-written entry
  } catch {
    /* the cache is an optimisation only */
  }
}

/**
 * Where compiled TypeScript is cached: `$BEYOD_CACHE_DIR`, else the project's
 * `node_modules/.cache/beyod`, else `$XDG_CACHE_HOME/beyod` (`~/.cache/beyod`). Never the
 * shared temp directory: a file there could be planted by another user and then executed by
 * us (as root, if we were started as root). A directory is used only if it is ours and no one
 * else can write to it; otherwise the next candidate is tried, and with none, nothing is
 * cached. Null when there is no usable directory.
 */
export function tsCacheDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  const candidates: string[] = [];
  if (env.BEYOD_CACHE_DIR) candidates.push(path.resolve(cwd, env.BEYOD_CACHE_DIR));
  else {
    const modules = findUp(cwd, 'node_modules');
    if (modules) candidates.push(path.join(modules, '.cache', 'beyod'));
    const home = env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
    if (home) candidates.push(path.join(home, 'beyod'));
  }
  for (const dir of candidates) {
    const problem = unsafeDir(dir);
    if (!problem) return dir;
    warnOnce(`beyod: not caching compiled TypeScript in ${dir}: ${problem}`);
  }
  return null;
}

/** Why `dir` must not hold code we will execute, or undefined when it is fine (created if missing). */
function unsafeDir(dir: string): string | undefined {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return `cannot create it (${(e as NodeJS.ErrnoException).code})`;
  }
  const st = fs.lstatSync(dir);
  const uid = process.geteuid?.() ?? st.uid;
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not by us (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `other users can write to it (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

const warned = new Set<string>();
function warnOnce(msg: string): void {
  if (warned.has(msg)) return;
  warned.add(msg);
  process.stderr.write(`${msg}\n`);
}

function findUp(from: string, name: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function transpile(swc: Swc, source: string, filename: string): string {
  try {
    return swc.transformSync(source, {
      filename,
      sourceMaps: 'inline',
      swcrc: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
        target: 'es2022',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
    }).code;
  } catch (e) {
    throw compileError(e, filename);
  }
}

/**
 * swc's error message is the useful code frame followed by "Caused by" and a native
 * backtrace of a dozen frames: keep the frame only.
 */
export function compileError(e: unknown, filename: string): SyntaxError {
  const raw = e instanceof Error ? e.message : String(e);
  const frame = raw
    .split(/\n\s*\n\s*(?:Caused by:|Stack backtrace:)/)[0]!
    .replace(/^\s*\n/, '')
    .trimEnd();
  const err = new SyntaxError(`TypeScript error in ${filename}:\n${frame}`);
  err.stack = `SyntaxError: ${err.message}`; // where swc was called from helps nobody
  return err;
}
