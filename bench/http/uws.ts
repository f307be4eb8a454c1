/*
 * uWebSockets.js for the benches (npm @trufflesuite/uws-js-unofficial, a devDependency
 * installed with --ignore-scripts). Its entry point falls back to a ws-based JavaScript
 * implementation when the native binary does not load, and only warns: a bench would then
 * print a "uWS" figure that is not uWS. So the binary is loaded here directly, and when it
 * does not load the bench says why and goes on without it.
 */
import * as path from 'node:path';

export type Uws = typeof import('@trufflesuite/uws-js-unofficial');

/** The native uWS module, or why it is unavailable. */
export function loadUws(): Uws | string {
  let dir: string;
  try {
    dir = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
  } catch {
    return 'npm package @trufflesuite/uws-js-unofficial is not installed (npm install)';
  }
  const file = path.join(dir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return require(file) as Uws;
  } catch (e) {
    return `its native binary does not load here (${(e as Error).message.split('\n')[0]}); its JS fallback is not uWS, so no figure`;
  }
}
