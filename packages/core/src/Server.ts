import * as os from 'node:os';
import type { Application } from './Application';
import { type ListenerDefinition, isPlainObject } from './config';
import { ConfigError, toError } from './errors';
import type { ShutdownReason } from './events';
import { Listener, type ListenerStats } from './Listener';
import { type Logger, rootLogger } from './logger';
import { parseSocketUrl } from './url';

/** Largest server id and worker id: each takes 16 bits of a GPID. */
export const MAX_SERVER_ID = 65535;
export const MAX_WORKER_ID = 65535;

/**
 * GPID = (serverId << 16) + workerId, in integer arithmetic: JavaScript's << is 32-bit signed,
 * so `65535 << 16` would be negative. gpidOf(65535, 65535) === 4294967295.
 */
export function gpidOf(serverId: number, workerId: number): number {
  return serverId * 65536 + workerId;
}

/** Split a GPID back into its server id and worker id. */
export function parseGpid(gpid: number): { serverId: number; workerId: number } {
  return { serverId: Math.floor(gpid / 65536), workerId: gpid % 65536 };
}

/** The configurable part of the server component. */
export interface ServerOptions {
  /** 1..65535, distinct per server instance in a cluster. Default 1. */
  serverId: number;
  /** Worker processes, ids 1..workerNum. Default: the number of CPUs. */
  workerNum: number;
  /** Pid file, relative to the app directory. The control socket lives beside it. */
  pidFile: string;
  /** Seconds a stopping worker waits for open connections before closing them. */
  stopTimeout: number;
  /** Detach the master from the terminal and log to logFile. */
  daemonize: boolean;
  /** Where a daemonized master writes its output (relative to the app directory). */
  logFile: string;
  /** When started as root, workers switch to this user (and group) after binding. */
  user: string;
  group: string;
  /** Run one worker inside the CLI's process, no master (tests, debuggers, profilers). */
  singleProcess: boolean;
  /** Replace a worker (same id, gracefully) after it handled this many messages; 0 = never. */
  maxRequests: number;
  /** Replace a worker whose RSS goes over this many bytes; 0 = never. */
  maxMemory: number;
  /** Seconds a new worker has to load the app, bind and finish onWorkerStart. Default 60. */
  startTimeout: number;
  /**
   * Seconds a ready worker's event loop may stay silent (SIGSTOP, a busy loop) before the
   * master kills it and starts another under the same id; 0 = never. Default 30.
   */
  heartbeatTimeout: number;
  /**
   * Serve Prometheus metrics (`/metrics`) and health (`/health`, `/ready`) over HTTP on this
   * address, from the master: `tcp://127.0.0.1:9464` or `unix:///path`. '' = off (default).
   */
  metrics: string;
  /** Listeners by name. */
  listeners: Record<string, ListenerDefinition>;
}

/** A worker's figures, as sent to the master and shown by `beyod status`. */
export interface WorkerStats {
  workerId: number;
  gpid: number;
  pid: number;
  startAt: number;
  memory: number;
  connections: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  listeners: ListenerStats[];
}

/** One live connection, as `beyod connections` lists it. */
export interface ConnectionInfo {
  workerId: number;
  listener: string;
  id: number;
  peer: string;
  /** Transport and protocol, e.g. "tcp/frame", "tls/websocket" (see Parser.protocol). */
  protocol: string;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  /** Milliseconds since the connection was accepted. */
  age: number;
}

/**
 * The server component: its options configure the master, and in each worker it builds and
 * starts the listeners, then calls onWorkerStart(workerId, gpid). Subclass it (as the config's
 * server.class) to run code in every worker.
 */
export class Server implements ServerOptions {
  /** The application (set when the app creates the server). */
  app: Application | undefined = undefined;
  serverId = 1;
  workerNum = defaultWorkerNum();
  pidFile = 'runtime/beyod.pid';
  stopTimeout = 10;
  daemonize = false;
  logFile = 'runtime/beyod.log';
  user = '';
  group = '';
  singleProcess = false;
  maxRequests = 0;
  maxMemory = 0;
  startTimeout = 60;
  heartbeatTimeout = 30;
  metrics = '';
  listeners: Record<string, ListenerDefinition> = {};

  /** A logger bound with serverId, workerId, gpid (in a worker), created once. */
  logger: Logger = rootLogger();

  private workerId = 0;
  private masterPid = 0;
  private startAt = 0;
  private readonly running = new Map<string, Listener>();
  /** The listeners' figures when the worker stopped: its last report must still count them. */
  private stoppedStats: ListenerStats[] | undefined;

  /** Validate the options (runs in the master too; no application code is involved). */
  init(): void {
    const at = (key: string) => `components.server.${key}`;
    const file = this.app?.configFile;
    if (!Number.isInteger(this.serverId) || this.serverId < 1 || this.serverId > MAX_SERVER_ID) {
      throw new ConfigError(at('serverId'), `expected an integer 1..${MAX_SERVER_ID}, got ${String(this.serverId)}`, file);
    }
    if (!Number.isInteger(this.workerNum) || this.workerNum < 1 || this.workerNum > MAX_WORKER_ID) {
      throw new ConfigError(at('workerNum'), `expected an integer 1..${MAX_WORKER_ID}, got ${String(this.workerNum)}`, file);
    }
    if (!(this.startTimeout > 0))
      throw new ConfigError(at('startTimeout'), `expected a number > 0, got ${String(this.startTimeout)}`, file);
    for (const key of ['stopTimeout', 'maxRequests', 'maxMemory', 'heartbeatTimeout'] as const) {
      if (!(this[key] >= 0)) throw new ConfigError(at(key), `expected a number >= 0, got ${String(this[key])}`, file);
    }
    if (this.metrics) {
      let transport: string;
      try {
        transport = parseSocketUrl(this.metrics).transport;
      } catch (e) {
        throw new ConfigError(at('metrics'), toError(e).message, file);
      }
      if (transport !== 'tcp' && transport !== 'unix')
        throw new ConfigError(at('metrics'), `expected tcp://host:port or unix:///path, got ${this.metrics}`, file);
    }
    if (!isPlainObject(this.listeners)) throw new ConfigError(at('listeners'), 'expected an object of listeners by name', file);
    for (const [name, def] of Object.entries(this.listeners)) {
      const path = at(`listeners.${name}`);
      if (!isPlainObject(def)) throw new ConfigError(path, 'expected { listen, handler?, parser?, ... }', file);
      if (typeof def.listen !== 'string') throw new ConfigError(`${path}.listen`, 'expected a URL such as tcp://0.0.0.0:8000', file);
      try {
        parseSocketUrl(def.listen);
      } catch (e) {
        throw new ConfigError(`${path}.listen`, toError(e).message, file);
      }
      for (const key of ['class', 'handler', 'parser'] as const) {
        const v = def[key];
        if (v === undefined || typeof v === 'function') continue;
        if (key !== 'class' && isPlainObject(v) && (v.class === undefined || typeof v.class === 'function')) continue;
        if (key !== 'class' && v !== null && typeof v === 'object' && !isPlainObject(v)) continue; // an instance
        throw new ConfigError(`${path}.${key}`, `expected a class${key === 'class' ? '' : ' or { class, ...properties }'}`, file);
      }
    }
  }

  /** This worker's id, 1..workerNum (0 outside a worker). Stable across respawns. */
  getWorkerId(): number {
    return this.workerId;
  }

  /** This worker's id across the cluster: (serverId << 16) + workerId. */
  getGpid(): number {
    return gpidOf(this.serverId, this.workerId);
  }

  /** The master's pid (this process's pid in single-process mode). */
  getMasterPid(): number {
    return this.masterPid;
  }

  /** When this worker started (ms since epoch). */
  getStartAt(): number {
    return this.startAt;
  }

  /** A running listener by its name in `listeners`. */
  getListener(name: string): Listener | undefined {
    return this.running.get(name);
  }

  /** The running listeners. */
  getListeners(): Listener[] {
    return [...this.running.values()];
  }

  /** Called in each worker after its listeners accept. Override it; call super first. */
  async onWorkerStart(_workerId: number, _gpid: number): Promise<void> {}

  /** Called in each worker when it stops, after its listeners stopped accepting. */
  async onWorkerStop(_workerId: number, _gpid: number): Promise<void> {}

  /**
   * @internal Start this process as worker `workerId`: build and start the listeners, then
   * onWorkerStart. Listeners already started are stopped again if a later one fails.
   */
  async startWorker(workerId: number, masterPid = process.pid): Promise<void> {
    this.workerId = workerId;
    this.masterPid = masterPid;
    this.startAt = Date.now();
    this.logger = rootLogger().child({ serverId: this.serverId, workerId, gpid: this.getGpid() });
    try {
      for (const [name, def] of Object.entries(this.listeners)) {
        const listener = this.createListener(name, def);
        await listener.start();
        this.running.set(name, listener);
        this.logger.info({ listener: name, address: listener.address }, `listening on ${listener.listen}`);
      }
      await this.onWorkerStart(workerId, this.getGpid());
    } catch (e) {
      await Promise.all(this.getListeners().map((l) => l.stop(0).catch(() => {})));
      this.running.clear();
      throw e;
    }
  }

  /** @internal Build (not start) the listener `name`; the master's config check builds them all. */
  createListener(name: string, def: ListenerDefinition): Listener {
    const keyPath = `components.server.listeners.${name}`;
    const props = {
      ...def,
      name,
      keyPath,
      basePath: this.app?.basePath ?? process.cwd(),
      logger: this.logger,
      factory: this.app,
      server: this,
    };
    return this.app
      ? this.app.createObject<Listener>(props, keyPath, Listener)
      : Object.assign(new Listener(), props, { factory: undefined });
  }

  /**
   * @internal Stop this worker: stop accepting, tell every connection (Handler.onShutdown),
   * onWorkerStop, then drain within stopTimeout.
   */
  async stopWorker(timeout = this.stopTimeout, reason: ShutdownReason = 'stop'): Promise<void> {
    const listeners = this.getListeners();
    await Promise.all(listeners.map((l) => l.stopAccept()));
    const deadline = Date.now() + timeout * 1000;
    for (const l of listeners) for (const c of [...l.connections.values()]) c._shutdown(reason, timeout, deadline);
    try {
      await this.onWorkerStop(this.workerId, this.getGpid());
    } catch (e) {
      this.logger.error({ err: toError(e) }, 'onWorkerStop failed');
    }
    await Promise.all(listeners.map((l) => l.stop(timeout)));
    this.stoppedStats = listeners.map((l) => l.getStats());
    this.running.clear();
  }

  /** The live connections of this worker. */
  getConnections(): ConnectionInfo[] {
    const now = Date.now();
    const out: ConnectionInfo[] = [];
    for (const l of this.getListeners()) {
      const parser = l.parserInstance;
      const named = `${l.transport}/${parser.protocol ?? parser.constructor.name}`;
      for (const c of l.connections.values()) {
        const protocol = parser.protocolOf ? `${l.transport}/${parser.protocolOf(c)}` : named;
        out.push({
          workerId: this.workerId,
          listener: l.name,
          id: c.id,
          peer: c.peer,
          protocol,
          bytesIn: c.bytesIn,
          bytesOut: c.bytesOut,
          messagesIn: c.messagesIn,
          messagesOut: c.messagesOut,
          age: now - c.connectedAt,
        });
      }
    }
    return out;
  }

  /** This worker's figures. */
  getStats(): WorkerStats {
    const listeners = this.running.size || !this.stoppedStats ? this.getListeners().map((l) => l.getStats()) : this.stoppedStats;
    const sum = (k: 'connections' | 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut') => listeners.reduce((n, l) => n + l[k], 0);
    return {
      workerId: this.workerId,
      gpid: this.getGpid(),
      pid: process.pid,
      startAt: this.startAt,
      memory: residentMemory(),
      connections: sum('connections'),
      messagesIn: sum('messagesIn'),
      messagesOut: sum('messagesOut'),
      bytesIn: sum('bytesIn'),
      bytesOut: sum('bytesOut'),
      listeners,
    };
  }
}

let lastRss = 0;

/**
 * The process's RSS. Reading it opens /proc/self/stat, which throws EMFILE / ENFILE when the
 * process is out of file descriptors — called from the stats timer, that killed the worker
 * and every connection on it. Then the last reading is given.
 */
function residentMemory(): number {
  try {
    lastRss = process.memoryUsage.rss();
  } catch {
    /* out of file descriptors: keep the last reading */
  }
  return lastRss;
}

function defaultWorkerNum(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}
