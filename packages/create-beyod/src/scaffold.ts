import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateError, CreateErrorCodes } from './errors';
import { type PackageJson, findTarballs, useTarballs } from './tarballs';
import { DEFAULT_TEMPLATE, listTemplates, templateFiles } from './templates';

/** The version of create-beyod, which is the version of every beyod package (they are released together). */
export const BEYOD_VERSION = (require('../package.json') as { version: string }).version;

export interface ScaffoldOptions {
  /** The directory to create (it may exist if empty). */
  dir: string;
  /** echo (default), http, websocket or cluster. */
  template?: string;
  /** The package name; default: the directory's name, made a valid npm name. */
  name?: string;
  /**
   * A directory holding `npm pack` tarballs of the beyod packages: they are copied into the
   * app (tarballs/) and its package.json installs them instead of asking the npm registry.
   */
  fromTarballs?: string;
}

export interface ScaffoldResult {
  dir: string;
  name: string;
  template: string;
  /** Files written, relative to dir. */
  files: string[];
}

/** Write a new app from a template. */
export function scaffold(options: ScaffoldOptions): ScaffoldResult {
  const template = options.template ?? DEFAULT_TEMPLATE;
  const known = listTemplates().map((t) => t.name);
  if (!known.includes(template)) {
    throw new CreateError(CreateErrorCodes.UNKNOWN_TEMPLATE, `unknown template '${template}'; choose one of ${known.join(', ')}`, {
      template,
      templates: known,
    });
  }
  const dir = path.resolve(options.dir);
  const name = options.name ?? packageNameFrom(path.basename(dir));
  checkName(name);
  checkEmpty(dir);
  // Find the tarballs before writing anything: a missing one leaves no half-made app behind.
  const tarballs = options.fromTarballs === undefined ? undefined : findTarballs(options.fromTarballs, BEYOD_VERSION);

  const written: string[] = [];
  for (const [rel, src] of templateFiles(template)) {
    const dest = path.join(dir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const text = fs.readFileSync(src, 'utf8').replaceAll('__APP_NAME__', name).replaceAll('__BEYOD_VERSION__', BEYOD_VERSION);
    fs.writeFileSync(dest, text);
    written.push(rel);
  }
  if (tarballs) {
    const file = path.join(dir, 'package.json');
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as PackageJson;
    written.push(...useTarballs(dir, pkg, tarballs));
    fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  return { dir, name, template, files: written.sort() };
}

/** A valid npm package name made from a directory name ("My App" -> "my-app"). */
export function packageNameFrom(dirName: string): string {
  const name = dirName
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+/, '')
    .replace(/-+$/, '')
    .slice(0, 214);
  return name || 'beyod-app';
}

const NPM_NAME = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

function checkName(name: string): void {
  if (name.length > 214 || !NPM_NAME.test(name)) {
    throw new CreateError(
      CreateErrorCodes.BAD_NAME,
      `'${name}' is not a valid npm package name (lowercase letters, digits, - . _ ~, optionally @scope/; at most 214 characters)`,
      { name },
    );
  }
}

function checkEmpty(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) {
    throw new CreateError(CreateErrorCodes.DIR_NOT_EMPTY, `${dir} exists and is not a directory`, { dir });
  }
  const entries = fs.readdirSync(dir).filter((e) => e !== '.git');
  if (entries.length) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', ...' : '');
    throw new CreateError(CreateErrorCodes.DIR_NOT_EMPTY, `${dir} is not empty (${shown}); choose a new directory`, {
      dir,
      entries: entries.length,
    });
  }
}
