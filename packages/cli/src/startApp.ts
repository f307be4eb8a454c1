import {
  type AppConfig,
  Application,
  BeyodError,
  ErrorCodes,
  type Listener,
  type Server,
  isPlainObject,
  mergeConfig,
} from '@beyod/core/internal';
import { findConfig, loadConfig } from './loadApp';

/** How to start an app in this process (see startApp). */
export interface StartAppOptions {
  /** The config file; default ./config/main.ts, then ./config/main.js, under `cwd`. */
  config?: string;
  /** Where a relative (or absent) `config` is looked up; default process.cwd(). */
  cwd?: string;
  /** Merge config/<env>/main.ts over the config, as `BEYOD_ENV=<env> beyod start` does; default BEYOD_ENV. */
  env?: string;
  /** New listen addresses by listener name, e.g. `{ echo: 'tcp://127.0.0.1:0' }` (port 0: a free port, read back with port()). */
  listen?: Record<string, string>;
  /** Deep-merged over the config (after config/<env>/main.ts), like one more environment file. */
  override?: AppConfig;
  /** The worker id to run as; default 1 (GPID = serverId * 65536 + workerId). */
  workerId?: number;
  /** pino level of this app's logs; default BEYOD_LOG_LEVEL, else 'warn' so test output stays readable. */
  logLevel?: string;
}

/** An app started by startApp: its server runs in this process as one worker. */
export interface RunningApp {
  readonly app: Application;
  readonly server: Server;
  /** A running listener by name (throws when there is none). */
  listener(name: string): Listener;
  /** The port a listener is bound to (the real one when the config said port 0). */
  port(name: string): number;
  /** Stop accepting, call onWorkerStop, close connections still open after `timeout` seconds (default 0). */
  stop(timeout?: number): Promise<void>;
}

/**
 * Start an app's server inside this process, as worker 1 with no master, pid file or control
 * socket: for tests (and scripts) that want the real listeners, parsers and handlers of the
 * app on real sockets without spawning `beyod start`.
 *
 * ```ts
 * const running = await startApp({ listen: { echo: 'tcp://127.0.0.1:0' } });
 * const socket = net.connect(running.port('echo'), '127.0.0.1');
 * ...
 * await running.stop();
 * ```
 */
export async function startApp(options: StartAppOptions = {}): Promise<RunningApp> {
  const loc = findConfig(options.config, options.cwd);
  let config = loadConfig(loc, options.env ?? process.env.BEYOD_ENV);
  if (options.override) config = mergeConfig(config, options.override);
  if (options.listen) {
    const known = Object.keys(listenersOf(config));
    const listeners: Record<string, { listen: string }> = {};
    for (const [name, listen] of Object.entries(options.listen)) {
      if (!known.includes(name)) {
        throw new BeyodError(
          ErrorCodes.CONFIG_INVALID,
          `startApp: listen names '${name}', but ${loc.configFile} has no such listener (it has: ${known.join(', ') || 'none'})`,
          { listener: name, file: loc.configFile },
        );
      }
      listeners[name] = { listen };
    }
    config = mergeConfig(config, { components: { server: { listeners } } });
  }
  config = mergeConfig(config, { log: { level: options.logLevel ?? process.env.BEYOD_LOG_LEVEL ?? 'warn' } });
  const app = new Application(config, { basePath: loc.appDir, configFile: loc.configFile });
  const server = app.server;
  await server.startWorker(options.workerId ?? 1, process.pid);
  let stopping: Promise<void> | undefined;
  const listener = (name: string): Listener => {
    const l = server.getListener(name);
    if (!l) throw new BeyodError(ErrorCodes.CONFIG_INVALID, `no running listener '${name}'`, { listener: name });
    return l;
  };
  return {
    app,
    server,
    listener,
    port: (name) => listener(name).port,
    stop(timeout = 0) {
      stopping ??= server.stopWorker(timeout);
      return stopping;
    },
  };
}

function listenersOf(config: AppConfig): Record<string, unknown> {
  const server = config.components?.server;
  const listeners = isPlainObject(server) ? server.listeners : undefined;
  return isPlainObject(listeners) ? listeners : {};
}
