/* The script every worker process runs (the master forks it through node:cluster). */
import { ErrorCodes, reportPhase, rootLogger, runWorker, toError } from '@beyod/core';
import { loadApp } from './loadApp';

const [configFile, appDir] = process.argv.slice(2) as [string, string];

(async () => {
  reportPhase('loading the application (config and modules)');
  const app = loadApp({ configFile, appDir });
  await runWorker(app);
})().catch((e: unknown) => {
  const err = toError(e);
  rootLogger().fatal({ err: err.message, code: (err as { code?: string }).code }, 'worker could not start');
  const error = { code: (err as { code?: string }).code ?? ErrorCodes.ERROR, message: err.message };
  if (process.connected) process.send?.({ t: 'beyod:start-failed', error }, undefined, {}, () => process.exit(1));
  else process.exit(1);
});
