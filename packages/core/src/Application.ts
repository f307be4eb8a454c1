import * as path from 'node:path';
import type { Container } from 'inversify';
import { loadInversify } from './di';
import { type AppConfig, type Class, type ComponentDefinition, isPlainObject } from './config';
import { BeyodError, ConfigError, ErrorCodes } from './errors';
import { createLogger, type Logger, setRootLogger } from './logger';
import { type ObjectFactory, createObjectWith } from './objects';
import { Server } from './Server';

export type { ObjectFactory } from './objects';

const LOG_KEYS: Record<string, (v: unknown) => boolean> = {
  level: (v) => typeof v === 'string',
  file: (v) => typeof v === 'string',
  format: (v) => v === 'auto' || v === 'json' || v === 'pretty',
};

/** `log: { level, file, format }`: a typo must not silently send the log elsewhere. */
function checkLogOptions(log: unknown, file: string | undefined): void {
  if (log === undefined) return;
  if (!isPlainObject(log)) throw new ConfigError('log', 'expected { level?, file?, format? }', file);
  for (const [key, value] of Object.entries(log)) {
    const ok = LOG_KEYS[key];
    if (!ok) throw new ConfigError(`log.${key}`, `unknown key; expected one of ${Object.keys(LOG_KEYS).join(', ')}`, file);
    if (value !== undefined && !ok(value)) {
      throw new ConfigError(
        `log.${key}`,
        key === 'format'
          ? `expected 'auto', 'json' or 'pretty', got ${JSON.stringify(value)}`
          : `expected a string, got ${JSON.stringify(value)}`,
        file,
      );
    }
  }
}

const TOP_LEVEL_KEYS = new Set(['id', 'log', 'components', 'params']);

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
    checkLogOptions(config.log, file);
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
