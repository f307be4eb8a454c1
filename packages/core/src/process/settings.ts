import type { Application } from '../Application';
import type { Handler } from '../Handler';
import type { LogOptions } from '../logger';
import type { Parser } from '../Parser';

/**
 * What the master needs from a config, as plain JSON. The master never loads the config
 * itself (the config imports application classes): a short-lived child process does, checks
 * the whole component tree, and sends these settings back (see @beyod/cli's config probe).
 */
export interface MasterSettings {
  /** The application's id. */
  id: string;
  /** The app directory (the folder that holds config/). */
  appDir: string;
  configFile: string;
  serverId: number;
  workerNum: number;
  /** Absolute. */
  pidFile: string;
  /** Absolute. */
  logFile: string;
  log: LogOptions;
  stopTimeout: number;
  startTimeout: number;
  heartbeatTimeout: number;
  maxRequests: number;
  maxMemory: number;
  daemonize: boolean;
  singleProcess: boolean;
  user: string;
  group: string;
  /** Listener name -> listen URL. */
  listeners: Record<string, string>;
  /** Where the master serves metrics and health ('' = nowhere); unix paths are absolute. */
  metrics: string;
}

/** Settings a rolling reload applies in the master itself. */
const APPLIED_BY_MASTER = ['workerNum', 'maxRequests', 'maxMemory', 'stopTimeout', 'startTimeout', 'heartbeatTimeout'] as const;
/** Settings the master holds for its lifetime: changing them needs `beyod restart`. */
const NEED_RESTART = ['serverId', 'pidFile', 'logFile', 'log', 'daemonize', 'singleProcess', 'id', 'metrics'] as const;

/** One changed setting, and what a reload does about it. */
export interface SettingChange {
  key: string;
  from: unknown;
  to: unknown;
  /** `applied`: now; `workers`: the new workers run with it; `restart`: kept until a restart. */
  effect: 'applied' | 'workers' | 'restart';
}

/**
 * Build the application's server and every listener's handler and parser (constructors and
 * init() run; nothing listens, onWorkerStart is not called), so a config error is reported
 * once, before any worker is forked; then return the master's settings.
 */
export function checkApplication(app: Application, log: LogOptions = {}): MasterSettings {
  const server = app.server;
  for (const [name, def] of Object.entries(server.listeners)) {
    const listener = server.createListener(name, def);
    // building them is the check (unknown keys, missing classes, init() errors)
    const built: [Handler, Parser<unknown, unknown>] = [listener.handlerInstance, listener.parserInstance];
    void built;
  }
  return {
    id: app.id,
    appDir: app.basePath,
    configFile: app.configFile ?? '',
    serverId: server.serverId,
    workerNum: server.workerNum,
    pidFile: app.resolvePath(server.pidFile),
    logFile: app.resolvePath(server.logFile),
    log: { ...(log.level !== undefined && { level: log.level }), ...(log.file && { file: app.resolvePath(log.file) }) },
    stopTimeout: server.stopTimeout,
    startTimeout: server.startTimeout,
    heartbeatTimeout: server.heartbeatTimeout,
    maxRequests: server.maxRequests,
    maxMemory: server.maxMemory,
    daemonize: server.daemonize,
    singleProcess: server.singleProcess,
    user: server.user,
    group: server.group,
    listeners: Object.fromEntries(Object.entries(server.listeners).map(([name, def]) => [name, def.listen])),
    metrics: server.metrics.startsWith('unix://') ? `unix://${app.resolvePath(server.metrics.slice('unix://'.length))}` : server.metrics,
  };
}

/** What changed between two configs, and what a reload does with each change. */
export function diffSettings(before: MasterSettings, after: MasterSettings): SettingChange[] {
  const out: SettingChange[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const key of APPLIED_BY_MASTER)
    if (!same(before[key], after[key])) out.push({ key, from: before[key], to: after[key], effect: 'applied' });
  for (const key of NEED_RESTART)
    if (!same(before[key], after[key])) out.push({ key, from: before[key], to: after[key], effect: 'restart' });
  for (const key of ['listeners', 'user', 'group'] as const) {
    if (!same(before[key], after[key])) out.push({ key, from: before[key], to: after[key], effect: 'workers' });
  }
  return out;
}

/** Check what a config probe sent back (it crossed a process boundary). */
export function isMasterSettings(v: unknown): v is MasterSettings {
  const s = v as MasterSettings;
  return (
    typeof s === 'object' && s !== null && typeof s.pidFile === 'string' && Number.isInteger(s.workerNum) && Number.isInteger(s.serverId)
  );
}
