import type { LogOptions } from './logger';
import type { ListenerOptions } from './Listener';
import type { ServerOptions } from './Server';

/** Any constructor. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Class<T = any> = abstract new (...args: any[]) => T;

/**
 * How a component is described in a config (Yii's createObject): a class, an instance, or
 * `{ class, ...properties }` — the class is constructed through the DI container, the
 * properties are assigned, then `init()` is called when present.
 */
export type ComponentDefinition<T = unknown> = Class<T> | T | ({ class?: Class<T> } & { [property: string]: unknown });

/** A listener in `server.listeners`. `class` defaults to Listener. */
export type ListenerDefinition = Partial<ListenerOptions> & {
  class?: Class;
  listen: string;
  [property: string]: unknown;
};

/** The `server` component. `class` defaults to Server; use your subclass for onWorkerStart. */
export type ServerDefinition = Partial<Omit<ServerOptions, 'listeners'>> & {
  class?: Class;
  listeners?: Record<string, ListenerDefinition>;
  [property: string]: unknown;
};

/** The whole application config, as `config/main.ts` exports it. */
export interface AppConfig {
  /** A name for the application (logs, status). */
  id?: string;
  /** Root logger options. */
  log?: LogOptions;
  /** Components by id; `server` is the one the CLI runs. */
  components?: { server?: ServerDefinition } & { [id: string]: ComponentDefinition };
  /** Free-form application parameters (Yii's params), reachable as app.params. */
  params?: Record<string, unknown>;
}

/** Gives a config object its types; it returns the object unchanged. */
export function defineConfig<T extends AppConfig>(config: T): T {
  return config;
}

/** True for `{...}` literals (not class instances, arrays or null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Deep-merge `over` onto `base` (plain objects merge; everything else replaces). */
export function mergeConfig<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeConfig(out[k], v);
  return out as T;
}
