import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AppConfig,
  Application,
  BeyodError,
  ConfigError,
  ErrorCodes,
  isPlainObject,
  mergeConfig,
  toError,
} from '@beyod/core/internal';
import { registerTypeScript } from './register';

/** Where an app's config is, and its app directory (the folder that holds config/). */
export interface AppLocation {
  configFile: string;
  appDir: string;
}

const DEFAULTS = ['config/main.ts', 'config/main.js'];

/** Find the config: --config, else ./config/main.ts, else ./config/main.js. */
export function findConfig(configOption: string | undefined, cwd = process.cwd()): AppLocation {
  const candidates = configOption ? [configOption] : DEFAULTS;
  for (const c of candidates) {
    const file = path.resolve(cwd, c);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) {
      return { configFile: file, appDir: appDirOf(file) };
    }
  }
  throw new BeyodError(
    ErrorCodes.CONFIG_NOT_FOUND,
    configOption
      ? `no config file at ${path.resolve(cwd, configOption)}`
      : `no config found: looked for ${DEFAULTS.map((d) => path.join(cwd, d)).join(' and ')} (use --config path/to/config/main.ts)`,
    { cwd },
  );
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
export function loadApp(loc: AppLocation): Application {
  const app = new Application(loadConfig(loc), { basePath: loc.appDir, configFile: loc.configFile });
  void app.server; // build and validate the server component now, with the config's file name in errors
  return app;
}
