import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateError, CreateErrorCodes } from './errors';

/** Every package of beyod: an app installed from tarballs needs them all (the CLI depends on create-beyod). */
export const BEYOD_PACKAGES = ['@beyod/core', '@beyod/protocols', '@beyod/dispatcher', '@beyod/cli', 'create-beyod'] as const;

/** Where an app keeps its copies of the tarballs, relative to the app. */
export const TARBALLS_DIR = 'tarballs';

/** The file name `npm pack` gives a package: @beyod/core 0.1.0 -> beyod-core-0.1.0.tgz. */
export function tarballName(pkg: string, version: string): string {
  return `${pkg.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/**
 * The tarball of each beyod package in `dir`, for `version`; a CreateError naming what is
 * missing (and how to make it) when one is not there.
 */
export function findTarballs(dir: string, version: string): Map<string, string> {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new CreateError(CreateErrorCodes.TARBALL_MISSING, `--from-tarballs: ${abs} is not a directory`, { dir: abs });
  }
  const found = new Map<string, string>();
  const missing: string[] = [];
  for (const pkg of BEYOD_PACKAGES) {
    const file = path.join(abs, tarballName(pkg, version));
    if (fs.existsSync(file)) found.set(pkg, file);
    else missing.push(tarballName(pkg, version));
  }
  if (missing.length) {
    const present = fs.readdirSync(abs).filter((f) => f.endsWith('.tgz'));
    throw new CreateError(
      CreateErrorCodes.TARBALL_MISSING,
      `--from-tarballs: ${abs} lacks ${missing.join(', ')}` +
        (present.length ? ` (it has ${present.join(', ')})` : ' (it has no .tgz files)') +
        `; make them in a beyod clone with \`npm run pack:tarballs -- ${abs}\``,
      { dir: abs, missing },
    );
  }
  return found;
}

/**
 * Copy the tarballs into the app and point its package.json at the copies: the beyod
 * dependencies, and `overrides` so that packages depending on each other (protocols on core,
 * the CLI on create-beyod) take the local copies too instead of asking the registry.
 */
export function useTarballs(appDir: string, pkg: PackageJson, tarballs: Map<string, string>): string[] {
  const dest = path.join(appDir, TARBALLS_DIR);
  fs.mkdirSync(dest, { recursive: true });
  const specs = new Map<string, string>();
  for (const [name, file] of tarballs) {
    fs.copyFileSync(file, path.join(dest, path.basename(file)));
    specs.set(name, `file:${TARBALLS_DIR}/${path.basename(file)}`);
  }
  for (const field of ['dependencies', 'devDependencies'] as const) {
    const deps = pkg[field];
    if (!deps) continue;
    for (const name of Object.keys(deps)) {
      const spec = specs.get(name);
      if (spec) deps[name] = spec;
    }
  }
  // npm accepts an override of a direct dependency only when both specs are the same string.
  pkg.overrides = { ...(pkg.overrides ?? {}), ...Object.fromEntries(specs) };
  return [...tarballs.values()].map((f) => `${TARBALLS_DIR}/${path.basename(f)}`);
}

export interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  overrides?: Record<string, unknown>;
  [key: string]: unknown;
}
