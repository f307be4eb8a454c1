import type { Container } from 'inversify';
import type { Application } from './Application';
import { type Class, isPlainObject } from './config';
import { inversifyLoaded, loadInversify } from './di';
import { ConfigError } from './errors';

/*
 * Building components from definitions (Yii's createObject), in a module of its own: the
 * Application, the Server and the Listener all build objects, and when this lived in
 * Application.ts it made Application -> Server -> Listener -> Application an import cycle.
 */

/** Anything that can build objects from definitions; the Application is one. */
export interface ObjectFactory {
  createObject<T>(definition: unknown, keyPath: string, defaultClass?: Class<T>): T;
}

/**
 * Builds components from definitions: the class through a DI container (so constructors may
 * inject other components, by id or by class), then the properties, then init().
 */
export function createObjectWith<T>(
  container: Container | (() => Container) | undefined,
  definition: unknown,
  keyPath: string,
  defaultClass?: Class<T>,
  file?: string,
  app?: Application,
): T {
  let cls: Class<T> | undefined;
  let props: Record<string, unknown> = {};
  if (typeof definition === 'function') {
    cls = definition as Class<T>;
  } else if (isPlainObject(definition)) {
    const { class: c, ...rest } = definition;
    props = rest;
    if (c === undefined && 'class' in definition) throw undefinedClass(`${keyPath}.class`, file);
    if (c !== undefined && typeof c !== 'function') {
      throw new ConfigError(`${keyPath}.class`, `expected a class, got ${describe(c)}`, file);
    }
    cls = (c as Class<T> | undefined) ?? defaultClass;
    if (!cls) throw new ConfigError(`${keyPath}.class`, 'a class is required here', file);
  } else if (definition !== null && typeof definition === 'object') {
    return definition as T; // an instance, used as it is
  } else {
    throw new ConfigError(keyPath, `expected a class, an instance or { class, ...properties }, got ${describe(definition)}`, file);
  }

  let obj: T;
  // The container is only needed when a constructor takes arguments, or once the app uses
  // inversify's decorators; a plain `new` is much cheaper and needs no metadata.
  if (container && (cls.length > 0 || inversifyLoaded())) {
    const parent = typeof container === 'function' ? container() : container;
    // Resolve in a child container where the class is bound to itself: the parent binds
    // component classes to their (singleton) components, which would otherwise recurse here.
    const child = new (loadInversify().Container)({ parent, autobind: true });
    child.bind(cls as never).toSelf();
    obj = child.get<T>(cls as never);
  } else {
    obj = new (cls as new () => T)();
  }
  configure(obj, props, keyPath, file);
  // A component that declares `app` gets the application before init() (Yii's $this->app).
  const withApp = obj as { app?: unknown };
  if (app && withApp !== null && typeof withApp === 'object' && 'app' in withApp && withApp.app === undefined) withApp.app = app;
  const init = (obj as { init?: unknown }).init;
  if (typeof init === 'function') init.call(obj);
  return obj;
}

/** Assign config properties, refusing unknown keys and primitive type mismatches. */
export function configure(obj: unknown, props: Record<string, unknown>, keyPath: string, file?: string): void {
  const target = obj as Record<string, unknown>;
  const name = (obj as object).constructor?.name ?? 'object';
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) {
      // `parser: text.Parsr` is undefined: falling back to the default class would run the wrong protocol
      if (typeof target[key] === 'function') throw undefinedClass(`${keyPath}.${key}`, file);
      continue;
    }
    if (!(key in target)) {
      throw new ConfigError(
        `${keyPath}.${key}`,
        `unknown property '${key}' of ${name} (declare it on the class, or check the spelling)`,
        file,
      );
    }
    const current = target[key];
    const t = typeof current;
    if ((t === 'number' || t === 'string' || t === 'boolean') && typeof value !== t) {
      throw new ConfigError(`${keyPath}.${key}`, `expected a ${t}, got ${describe(value)}`, file);
    }
    target[key] = value;
  }
}

function undefinedClass(keyPath: string, file: string | undefined): ConfigError {
  return new ConfigError(keyPath, 'is undefined, expected a class (a misspelt or missing import/export?)', file);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v).slice(0, 60)}`;
  if (typeof v === 'object') return `an object`;
  return `${typeof v} ${String(v)}`;
}
