/*
 * The config check: a short-lived process that loads the config (and so the application
 * modules it imports), builds the component tree, and sends the master's settings back over
 * IPC. It keeps application code out of the master, and reports a config error once.
 */
import { BeyodError } from '@beyod/core';
import { checkConfig } from './loadApp';

const [configFile, appDir] = process.argv.slice(2) as [string, string];

const reply = (m: unknown, code: number) => {
  if (process.connected) process.send?.(m, undefined, {}, () => process.exit(code));
  else process.exit(code);
};

try {
  reply({ t: 'probe:ok', settings: checkConfig({ configFile, appDir }) }, 0);
} catch (e) {
  reply({ t: 'probe:error', error: BeyodError.from(e).toJSON() }, 1);
}
