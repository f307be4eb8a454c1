import type * as Inversify from 'inversify';

/*
 * inversify is loaded on first use, not with @beyod/core: it costs ~120 ms of every worker's
 * start (measured here; most of a respawn's time). Apps that inject nothing never load it.
 *
 * reflect-metadata is loaded with it, not as a side effect of importing @beyod/core: the first
 * use is a decorator (`@injectable()`, `@inject()` below) or the container. For a decorated
 * class, the decorator factories run before the compiler's `__metadata("design:paramtypes",
 * ...)` helper, which records the constructor's parameter types only if Reflect.metadata
 * exists by then — it does, since our decorator loaded it (a test pins this down). An app
 * that uses inversify's own decorators imports reflect-metadata itself, as inversify says.
 */
let inversify: typeof Inversify | undefined;

export function loadInversify(): typeof Inversify {
  if (inversify) return inversify;
  require('reflect-metadata');
  return (inversify = require('inversify') as typeof Inversify);
}

/** True once inversify is in this process (our decorators ran, or the app imported it). */
export function inversifyLoaded(): boolean {
  if (inversify) return true;
  try {
    return require.resolve('inversify') in require.cache;
  } catch {
    return false;
  }
}

/** inversify's `@injectable()`: mark a class whose constructor receives components. */
export const injectable: typeof Inversify.injectable = ((...args: Parameters<typeof Inversify.injectable>) =>
  loadInversify().injectable(...args)) as typeof Inversify.injectable;

/** inversify's `@inject(token)`: receive the component with this id (or class). */
export const inject: typeof Inversify.inject = ((...args: Parameters<typeof Inversify.inject>) =>
  loadInversify().inject(...args)) as typeof Inversify.inject;

/** inversify's `@optional()`. */
export const optional: typeof Inversify.optional = (() => loadInversify().optional()) as typeof Inversify.optional;
