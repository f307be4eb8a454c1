import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AppConfig,
  Application,
  BeyodError,
  ConfigError,
  ErrorCodes,
  type MasterSettings,
  checkApplication,
  isPlainObject,
  mergeConfig,
  toError,
} from '@beyod/core';
import { registerTypeScript } from './register';

/** Where an app's config is, and its app directory (the folder that holds config/). */
export interface AppLocation {
  configFile: string;
  appDir: string;
}

const DEFAULTS = ['config/main.ts', 'config/main.js'];

const isDir = (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory();
const isFile = (p: string) => fs.existsSync(p) && fs.statSync(p).isFile();

/**
 * Find the config: `--config` names a config file, an application directory (the folder that
 * holds config/) or a config/ directory; without it, ./config/main.ts, then ./config/main.js.
 */
export function findConfig(configOption: string | undefined, cwd = process.cwd()): AppLocation {
  const base = configOption ? path.resolve(cwd, configOption) : cwd;
  if (configOption && isFile(base)) return { configFile: base, appDir: appDirOf(base) };
  const inDir = configOption && !isDir(base) ? [] : DEFAULTS.map((d) => path.join(base, d));
  if (configOption && path.basename(base) === 'config') inDir.push(path.join(base, 'main.ts'), path.join(base, 'main.js'));
  const found = inDir.find(isFile);
  if (found) return { configFile: found, appDir: appDirOf(found) };
  throw new BeyodError(
    ErrorCodes.CONFIG_NOT_FOUND,
    !configOption
      ? `no config found: looked for ${inDir.join(' and ')} (use --config with a config file or the application directory)`
      : inDir.length
        ? `no config in ${base}: looked for ${inDir.join(' and ')}`
        : `no config file at ${base}`,
    { cwd },
  );
}

/**
 * The application directory `--config` points at, without reading any config (the commands
 * that only talk to a running server use it to find runtime/beyod.pid).
 */
export function appDirOption(configOption: string | undefined, cwd = process.cwd()): string {
  if (!configOption) return cwd;
  const p = path.resolve(cwd, configOption);
  if (isDir(p)) return path.basename(p) === 'config' && !isDir(path.join(p, 'config')) ? path.dirname(p) : p;
  return appDirOf(p);
}

/** The folder that holds config/ (for config/main.ts or config/<env>/main.ts). */
function appDirOf(configFile: string): string {
  let dir = path.dirname(configFile);
  for (let up = 0; up < 2; up++) {
    if (path.basename(dir) === 'config') return path.dirname(dir);
    dir = path.dirname(dir);
  }
  return path.dirname(configFile);
}

function requireConfig(file: string): unknown {
  let mod: unknown;
  try {
    mod = require(file);
  } catch (e) {
    const err = toError(e);
    throw new BeyodError(ErrorCodes.CONFIG_INVALID, `${file}: cannot load the config: ${err.message}`, { file }, { cause: err });
  }
  const m = mod as { default?: unknown; __esModule?: boolean };
  return m && typeof m === 'object' && 'default' in m ? m.default : mod;
}

/**
 * Load the config (TypeScript or JavaScript), deep-merged with config/<BEYOD_ENV>/main.(ts|js)
 * when BEYOD_ENV is set and that file exists (Yii's per-environment config).
 */
export function loadConfig(loc: AppLocation, env = process.env.BEYOD_ENV): AppConfig {
  if (/\.[cm]?ts$/.test(loc.configFile)) registerTypeScript();
  let config = requireConfig(loc.configFile);
  if (!isPlainObject(config)) throw new ConfigError('', 'the config must `export default defineConfig({ ... })`', loc.configFile);
  if (env) {
    const dir = path.join(path.dirname(loc.configFile), env);
    const ext = path.extname(loc.configFile);
    for (const name of [`main${ext}`, 'main.ts', 'main.js']) {
      const file = path.join(dir, name);
      if (!fs.existsSync(file)) continue;
      if (file.endsWith('.ts')) registerTypeScript();
      const over = requireConfig(file);
      if (!isPlainObject(over)) throw new ConfigError('', 'the config must `export default defineConfig({ ... })`', file);
      config = mergeConfig(config, over);
      break;
    }
  }
  return config as AppConfig;
}

/** Load the config and build the application (the server component is validated too). */
export function loadApp(loc: AppLocation, config = loadConfig(loc)): Application {
  const app = new Application(config, { basePath: loc.appDir, configFile: loc.configFile });
  void app.server; // build and validate the server component now, with the config's file name in errors
  return app;
}

/**
 * Load the config and build the whole component tree (server, listeners, their handlers and
 * parsers; nothing listens), and return what the master needs. Runs in the config-check
 * process, never in the master.
 */
export function checkConfig(loc: AppLocation): MasterSettings {
  const config = loadConfig(loc);
  return checkApplication(loadApp(loc, config), config.log);
}
