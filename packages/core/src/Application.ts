import 'reflect-metadata';
import * as path from 'node:path';
import type { Container } from 'inversify';
import { inversifyLoaded, loadInversify } from './di';
import { type AppConfig, type Class, type ComponentDefinition, isPlainObject } from './config';
import { BeyodError, ConfigError, ErrorCodes } from './errors';
import { createLogger, type Logger, setRootLogger } from './logger';
import { Server } from './Server';

/** Anything that can build objects from definitions; the Application is one. */
export interface ObjectFactory {
  createObject<T>(definition: unknown, keyPath: string, defaultClass?: Class<T>): T;
}

const TOP_LEVEL_KEYS = new Set(['id', 'log', 'components', 'params']);

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

export interface ApplicationOptions {
  /** The app directory: the folder that holds config/. Relative paths resolve against it. */
  basePath?: string;
  /** The config file the config came from (named in config errors). */
  configFile?: string;
  /** Use this logger instead of creating one from config.log. */
  logger?: Logger;
}

/**
 * The application: components built from the config through an inversify container.
 * `app.get('db')` reaches a component, `app.server` the server (Yii::$app->server).
 */
export class Application implements ObjectFactory {
  readonly id: string;
  readonly basePath: string;
  readonly configFile: string | undefined;
  private di: Container | undefined;
  readonly params: Record<string, unknown>;
  readonly logger: Logger;
  private readonly definitions: Record<string, ComponentDefinition>;
  private readonly instances = new Map<string, unknown>();
  private readonly creating = new Set<string>();

  constructor(configObject: AppConfig = {}, options: ApplicationOptions = {}) {
    const file = options.configFile;
    const config: AppConfig = configObject;
    if (!isPlainObject(configObject)) throw new ConfigError('', 'the config must export an object (defineConfig({...}))', file);
    for (const key of Object.keys(config)) {
      if (!TOP_LEVEL_KEYS.has(key)) {
        throw new ConfigError(key, `unknown top-level key; expected one of ${[...TOP_LEVEL_KEYS].join(', ')}`, file);
      }
    }
    if (config.components !== undefined && !isPlainObject(config.components)) {
      throw new ConfigError('components', 'expected an object of component definitions', file);
    }
    this.configFile = file;
    this.basePath = path.resolve(options.basePath ?? process.cwd());
    this.id = config.id ?? 'beyod';
    this.params = config.params ?? {};
    this.logger =
      options.logger ?? createLogger(config.log ? { ...config.log, file: config.log.file && this.resolvePath(config.log.file) } : {});
    if (!options.logger) setRootLogger(this.logger);
    this.definitions = { server: {}, ...(config.components ?? {}) } as Record<string, ComponentDefinition>;
  }

  /**
   * The inversify container (created on first use): every component is bound by id, and by
   * class when exactly one component has that class; the Application is bound to itself.
   */
  get container(): Container {
    if (this.di) return this.di;
    const di = new (loadInversify().Container)({ autobind: true });
    di.bind(Application).toConstantValue(this);
    const classOwners = new Map<Class, string[]>();
    for (const [id, def] of Object.entries(this.definitions)) {
      di.bind(id).toDynamicValue(() => this.get(id));
      const cls = this.classOf(id, def);
      if (cls) classOwners.set(cls, [...(classOwners.get(cls) ?? []), id]);
    }
    // Injection by class works when exactly one component has that class.
    for (const [cls, ids] of classOwners) {
      if (ids.length === 1 && cls !== Application) {
        di.bind(cls as never).toDynamicValue(() => this.get(ids[0]!) as never);
      }
    }
    this.di = di;
    return di;
  }

  private classOf(id: string, def: unknown): Class | undefined {
    if (typeof def === 'function') return def as Class;
    if (isPlainObject(def)) return (def.class as Class | undefined) ?? (id === 'server' ? Server : undefined);
    return undefined;
  }

  /** Resolve a path relative to the app directory. */
  resolvePath(p: string): string {
    return path.resolve(this.basePath, p);
  }

  has(id: string): boolean {
    return id in this.definitions;
  }

  /** The component with this id, created on first use (and then the same object). */
  get<T = unknown>(id: string): T {
    if (this.instances.has(id)) return this.instances.get(id) as T;
    const def = this.definitions[id];
    if (def === undefined) {
      throw new BeyodError(ErrorCodes.COMPONENT_NOT_FOUND, `no component '${id}' in the config (components.${id})`, { id });
    }
    if (this.creating.has(id)) {
      throw new ConfigError(`components.${id}`, `circular dependency: ${[...this.creating, id].join(' -> ')}`, this.configFile);
    }
    this.creating.add(id);
    try {
      const obj = this.createObject<T>(def, `components.${id}`, id === 'server' ? (Server as unknown as Class<T>) : undefined);
      this.instances.set(id, obj);
      return obj;
    } finally {
      this.creating.delete(id);
    }
  }

  /** The server component. */
  get server(): Server {
    return this.get<Server>('server');
  }

  createObject<T>(definition: unknown, keyPath: string, defaultClass?: Class<T>): T {
    return createObjectWith<T>(() => this.container, definition, keyPath, defaultClass, this.configFile, this);
  }
}
