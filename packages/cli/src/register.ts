import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

let registered = false;

type Loader = (module: Module & { _compile(code: string, filename: string): void }, filename: string) => void;
type Swc = typeof import('@swc/core');

/** Bump when the compile options change, so old cache entries are not used. */
const OPTIONS_VERSION = 1;

/**
 * Let require() load TypeScript — the app's config and classes — with no build step.
 *
 * We call @swc/core directly rather than through a register package: swc keeps decorator
 * metadata (constructor injection needs design:paramtypes; esbuild/tsx drops it), and going
 * direct avoids loading the `typescript` package, which cost every worker ~0.5 s and ~50 MB
 * (measured here). Compiled output is cached on disk (keyed by path, size and mtime), so a
 * re-forked worker does not even load swc: respawn time is mostly process start-up.
 * Inline source maps keep stack traces on the .ts lines.
 */
export function registerTypeScript(): void {
  if (registered) return;
  registered = true;
  process.setSourceMapsEnabled(true);
  let swc: Swc | undefined;
  const cacheDir = path.join(os.tmpdir(), `beyod-ts-cache-${process.getuid?.() ?? 'user'}`);
  const compile: Loader = (module, filename) => {
    const st = fs.statSync(filename);
    const key = createHash('sha1').update(`${OPTIONS_VERSION}\0${filename}\0${st.size}\0${st.mtimeMs}`).digest('hex');
    const cached = path.join(cacheDir, `${key}.js`);
    let code: string | undefined;
    try {
      code = fs.readFileSync(cached, 'utf8');
    } catch {
      swc ??= require('@swc/core') as Swc;
      code = transpile(swc, fs.readFileSync(filename, 'utf8'), filename);
      try {
        fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
        const tmp = `${cached}.${process.pid}`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, cached); // atomic: a worker never reads a half-written entry
      } catch {
        /* the cache is an optimisation only */
      }
    }
    module._compile(code, filename);
  };
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  extensions['.ts'] = compile;
  extensions['.cts'] = compile;
}

function transpile(swc: Swc, source: string, filename: string): string {
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
}
