import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { BeyodError, ErrorCodes, toError } from '../errors';
import type { ShutdownReason } from '../events';
import type { Logger } from '../logger';
import type { ConnectionInfo, WorkerStats } from '../Server';
import type { FromWorker, ToWorker } from './messages';
import { isFromWorker } from './messages';
import type { MasterSettings } from './settings';
import { type ForkOptions, type Proc, type Slot, describeExit } from './slots';
import { WORKER_LOG_FD, WORKER_STDIO, collectWorkerOutput } from './workerOutput';

/** A worker that dies within this many ms of becoming ready counts as crashing on start. */
const FAST_FAILURE_MS = 2000;
/** Back-off before re-forking a worker that keeps dying on start: 0, 250 ms, 500 ms, ... capped. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 15_000;
/** How long a query to a worker (status, connections, start phase) waits for its answer. */
const QUERY_TIMEOUT_MS = 1000;
/** How often heartbeats are checked (workers send one every second). */
const HEARTBEAT_CHECK_MS = 500;
/** A worker silent this long is shown `unresponsive` (or after half of heartbeatTimeout). */
const UNRESPONSIVE_AFTER_MS = 3000;
/** While a worker starts, what it waits on is reported this often (at most; see pendingEvery). */
const PENDING_REPORT_MS = 10_000;
/** Grace after stopTimeout before a stopping worker is killed. */
const KILL_GRACE_MS = 3000;

/**
 * Keeps worker ids 1..n alive. It owns the slot table, and every change to it: fork, promote a
 * ready replacement (the old process retires), respawn after a death with back-off, retire,
 * kill a worker whose heartbeat stopped. Each slot holds one current process and at most one
 * incoming one, so however deaths and reloads interleave, no process serves an id behind the
 * supervisor's back.
 */
export class Supervisor extends EventEmitter {
  readonly slots = new Map<number, Slot>();
  readonly procs = new Map<Worker, Proc>();
  /** Re-fork workers that die (off while the first workers start, and once stopping). */
  supervising = false;
  stopping = false;
  private queryId = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastCheck = Date.now();

  constructor(
    private readonly fork: ForkOptions,
    private readonly settings: () => MasterSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Point node:cluster at the worker script and start checking heartbeats. */
  setup(): void {
    cluster.setupPrimary({
      exec: this.fork.exec,
      args: this.fork.args ?? [],
      execArgv: this.fork.execArgv ?? process.execArgv,
      ...(this.fork.output && { stdio: WORKER_STDIO }),
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), HEARTBEAT_CHECK_MS);
    this.heartbeat.unref();
  }

  /** The slot of worker `id`, created when missing. */
  slot(id: number): Slot {
    let s = this.slots.get(id);
    if (!s) {
      s = { id, current: null, incoming: null, respawns: 0, fastFailures: 0, retryTimer: undefined };
      this.slots.set(id, s);
    }
    return s;
  }

  /**
   * Start a process for worker `id` (a first start, a respawn, or a replacement). Once it is
   * ready it becomes the slot's current process and the previous one retires (told `replaces`).
   * A slot has one incoming process at a time: asking again returns the same one.
   */
  spawn(id: number, replaces: ShutdownReason = 'reload'): Promise<Proc> {
    const s = this.slot(id);
    if (s.incoming) return s.incoming.settled;
    if (s.retryTimer) {
      clearTimeout(s.retryTimer); // it was waiting to be re-forked: this is that re-fork
      s.retryTimer = undefined;
    }
    const settings = this.settings();
    const worker = cluster.fork({
      ...this.fork.env,
      BEYOD_WORKER_ID: String(id),
      BEYOD_MASTER_PID: String(process.pid),
      BEYOD_SERVER_ID: String(settings.serverId),
      ...(this.fork.output && { BEYOD_LOG_FD: String(WORKER_LOG_FD) }),
    });
    if (this.fork.output) collectWorkerOutput(worker.process, id, this.fork.output);
    let onReady: (error?: BeyodError) => void = () => {};
    const settled = new Promise<Proc>((resolve, reject) => {
      onReady = (error) => (error ? reject(error) : resolve(proc));
    });
    settled.catch(() => {}); // callers that care attach their own handler
    const now = Date.now();
    const proc: Proc = {
      worker,
      pid: worker.process.pid ?? 0,
      slotId: id,
      role: 'incoming',
      ready: false,
      forkedAt: now,
      readyAt: 0,
      lastSeen: now,
      lag: 0,
      unresponsive: false,
      stats: undefined,
      phase: 'forked',
      limitHit: false,
      draining: undefined,
      settled,
      replaces,
      onReady: (error) => {
        proc.onReady = undefined;
        for (const t of proc.timers) clearTimeout(t);
        proc.timers = [];
        onReady(error);
      },
      pending: new Map(),
      timers: [],
    };
    s.incoming = proc;
    this.procs.set(worker, proc);
    worker.on('message', (m: unknown) => this.onMessage(proc, m));
    worker.on('exit', (code, signal) => this.onExit(proc, code, signal));
    worker.on('error', (err) => this.log.warn({ workerId: id, err }, 'worker IPC error'));
    this.watchStart(proc, settings.startTimeout * 1000);
    return settled;
  }

  /** Report a slow start every so often, and give up after startTimeout. */
  private watchStart(proc: Proc, timeoutMs: number): void {
    const every = Math.max(500, Math.min(PENDING_REPORT_MS, Math.floor(timeoutMs / 4)));
    const report = async () => {
      const phase = await this.askPhase(proc);
      if (!proc.onReady) return;
      const secs = Math.round((Date.now() - proc.forkedAt) / 1000);
      const what = phase ?? `${proc.phase} (it does not answer: its event loop is blocked)`;
      this.log.warn(
        { workerId: proc.slotId, pid: proc.pid, phase: what, seconds: secs },
        `worker ${proc.slotId}: ${what} still pending after ${secs} s`,
      );
      this.emit('pending', proc.slotId, what, secs);
      proc.timers.push(setTimeout(() => void report(), every));
    };
    proc.timers.push(setTimeout(() => void report(), every));
    proc.timers.push(
      setTimeout(async () => {
        const phase = (await this.askPhase(proc)) ?? proc.phase;
        if (!proc.onReady) return;
        proc.failure = new BeyodError(
          ErrorCodes.WORKER_START_FAILED,
          `worker ${proc.slotId} did not start within ${timeoutMs / 1000} s (${phase} still pending); startTimeout is ${timeoutMs / 1000} s`,
          { workerId: proc.slotId, phase },
        );
        proc.onReady(proc.failure);
        proc.worker.process.kill('SIGKILL');
      }, timeoutMs),
    );
  }

  private askPhase(proc: Proc): Promise<string | undefined> {
    return this.ask<string>(proc, 'phase');
  }

  private onMessage(proc: Proc, m: unknown): void {
    if (!isFromWorker(m)) return;
    const msg: FromWorker = m;
    proc.lastSeen = Date.now();
    switch (msg.t) {
      case 'beyod:phase':
        proc.phase = msg.phase;
        break;
      case 'beyod:ready':
        this.onReady(proc, msg.stats);
        break;
      case 'beyod:start-failed': {
        const error = BeyodError.from(msg.error);
        this.log.error({ workerId: proc.slotId, pid: proc.pid, code: error.code, err: error.message }, 'worker failed to start');
        proc.failure = new BeyodError(ErrorCodes.WORKER_START_FAILED, `worker ${proc.slotId} failed to start: ${error.message}`, {
          workerId: proc.slotId,
          cause: error.toJSON(),
        });
        proc.onReady?.(proc.failure);
        break;
      }
      case 'beyod:stats':
        proc.stats = msg.stats;
        this.emit('stats', proc, msg.stats);
        proc.lag = msg.lag;
        if (proc.unresponsive) {
          proc.unresponsive = false;
          this.log.info({ workerId: proc.slotId, pid: proc.pid }, `worker ${proc.slotId} answers again`);
        }
        if (proc.role === 'current') this.checkLimits(proc, msg.stats);
        break;
      case 'beyod:draining':
        proc.draining = msg.connections;
        break;
      case 'beyod:sync':
        // The answer travels behind every message we sent before it (one ordered channel),
        // including node:cluster's connection hand-offs: see runWorker's stop.
        this.tell(proc.worker, { t: 'beyod:synced', id: msg.id });
        break;
      case 'beyod:reply': {
        const cb = proc.pending.get(msg.id);
        proc.pending.delete(msg.id);
        cb?.(msg.data);
        break;
      }
    }
  }

  private onReady(proc: Proc, stats: WorkerStats): void {
    proc.ready = true;
    proc.readyAt = Date.now();
    proc.stats = stats;
    this.emit('stats', proc, stats);
    proc.phase = 'ready';
    const s = this.slots.get(proc.slotId);
    if (s && s.incoming === proc && !this.stopping) {
      // promote: the replacement accepts, so the old process may stop accepting now
      s.incoming = null;
      const old = s.current;
      proc.role = 'current';
      s.current = proc;
      if (old) this.retire(old, proc.replaces);
    }
    this.emit('worker-ready', proc.slotId, proc.pid);
    proc.onReady?.();
  }

  private onExit(proc: Proc, code: number | null, signal: string | null): void {
    this.procs.delete(proc.worker);
    this.emit('exit', proc);
    for (const cb of proc.pending.values()) cb(undefined);
    proc.pending.clear();
    if (!proc.ready) {
      proc.onReady?.(
        proc.failure ??
          new BeyodError(
            ErrorCodes.WORKER_START_FAILED,
            `worker ${proc.slotId} exited before it was ready (${describeExit(code, signal)})`,
            {
              workerId: proc.slotId,
            },
          ),
      );
    }
    for (const t of proc.timers) clearTimeout(t);
    const s = this.slots.get(proc.slotId);
    const pid = proc.pid;
    if (s && s.incoming === proc) {
      s.incoming = null;
      if (s.current) {
        this.log.warn(
          { workerId: s.id, pid, code, signal },
          `the replacement for worker ${s.id} exited (${describeExit(code, signal)}); pid ${s.current.pid} keeps serving`,
        );
        return;
      }
      return this.died(s, proc, code, signal);
    }
    if (s && s.current === proc) {
      s.current = null;
      if (s.incoming) {
        this.log.warn(
          { workerId: s.id, oldPid: pid, code, signal, newPid: s.incoming.pid },
          `worker ${s.id} died (${describeExit(code, signal)}); its replacement pid ${s.incoming.pid} is starting`,
        );
        return;
      }
      return this.died(s, proc, code, signal);
    }
    this.log.info({ workerId: proc.slotId, pid, code, signal }, proc.role === 'retiring' ? 'old worker exited' : 'worker exited');
  }

  /** Slot `s` has no process left: re-fork, at once or after a back-off if it keeps dying. */
  private died(s: Slot, proc: Proc, code: number | null, signal: string | null): void {
    if (this.stopping || !this.supervising) return;
    const lived = proc.ready ? Date.now() - proc.readyAt : 0;
    s.fastFailures = !proc.ready || lived < FAST_FAILURE_MS ? s.fastFailures + 1 : 0;
    const delay = s.fastFailures <= 1 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (s.fastFailures - 2), BACKOFF_CAP_MS);
    this.log.warn(
      { workerId: s.id, oldPid: proc.pid, code, signal, delay, fastFailures: s.fastFailures },
      `worker ${s.id} died (${describeExit(code, signal)}); re-forking in ${delay} ms`,
    );
    s.retryTimer = setTimeout(() => this.respawn(s.id, proc.pid), delay);
  }

  private respawn(id: number, oldPid: number): void {
    const s = this.slots.get(id);
    if (!s) return;
    s.retryTimer = undefined;
    if (this.stopping || s.current || s.incoming) return;
    s.respawns++;
    const p = this.spawn(id);
    const incoming = this.slots.get(id)?.incoming;
    this.log.info({ workerId: id, oldPid, newPid: incoming?.pid, respawns: s.respawns }, `worker ${id} re-forked`);
    p.catch((e: unknown) => this.log.error({ workerId: id, err: toError(e).message }, 'respawned worker failed to start'));
  }

  /** Tell `proc` to stop gracefully (it drains within stopTimeout), and kill it if it does not. */
  retire(proc: Proc, reason: ShutdownReason): void {
    proc.role = 'retiring';
    const timeout = this.settings().stopTimeout;
    this.tell(proc.worker, { t: 'beyod:stop', timeout, reason });
    const t = setTimeout(() => !proc.worker.isDead() && proc.worker.process.kill('SIGKILL'), timeout * 1000 + KILL_GRACE_MS);
    proc.worker.once('exit', () => clearTimeout(t));
  }

  /** Worker id `id` is no longer wanted (workerNum lowered): its processes retire, no respawn. */
  removeSlot(id: number): Proc | null {
    const s = this.slots.get(id);
    if (!s) return null;
    this.slots.delete(id);
    if (s.retryTimer) clearTimeout(s.retryTimer);
    if (s.incoming) this.retire(s.incoming, 'scale');
    if (s.current) this.retire(s.current, 'scale');
    return s.current;
  }

  private checkLimits(proc: Proc, stats: WorkerStats): void {
    const { maxRequests, maxMemory } = this.settings();
    if (proc.limitHit || !proc.ready) return;
    const why =
      maxRequests > 0 && stats.messagesIn >= maxRequests
        ? `handled ${stats.messagesIn} messages (maxRequests ${maxRequests})`
        : maxMemory > 0 && stats.memory > maxMemory
          ? `uses ${stats.memory} bytes (maxMemory ${maxMemory})`
          : undefined;
    if (!why) return;
    proc.limitHit = true; // not again while it is being replaced
    this.log.info({ workerId: proc.slotId, pid: proc.pid }, `replacing worker ${proc.slotId}: it ${why}`);
    this.emit('limit', proc.slotId, proc);
  }

  /**
   * The heartbeat: a ready worker sends its figures every second from its event loop. One
   * silent for a while is shown `unresponsive`; after heartbeatTimeout it is killed, and the
   * slot re-forks it like any dead worker.
   */
  private checkHeartbeats(): void {
    const timeoutMs = this.settings().heartbeatTimeout * 1000;
    const now = Date.now();
    const gap = now - this.lastCheck;
    this.lastCheck = now;
    if (timeoutMs <= 0 || this.stopping) return;
    if (gap > HEARTBEAT_CHECK_MS * 4) {
      // We were the ones stalled (SIGSTOP, swapped out): the workers' heartbeats are still
      // unread in the IPC pipes, and timers run before I/O. Judge them from now on.
      for (const proc of this.procs.values()) proc.lastSeen = Math.max(proc.lastSeen, now);
      this.log.warn({ stalledMs: gap }, `the master itself was stalled for ${(gap / 1000).toFixed(1)} s; heartbeats restart from now`);
      return;
    }
    for (const proc of this.procs.values()) {
      if (!proc.ready || proc.role === 'retiring' || proc.worker.isDead()) continue;
      const silent = now - proc.lastSeen;
      if (!proc.unresponsive && silent >= Math.min(UNRESPONSIVE_AFTER_MS, timeoutMs / 2)) {
        proc.unresponsive = true;
        this.log.warn(
          { workerId: proc.slotId, pid: proc.pid, silentMs: silent },
          `worker ${proc.slotId} is unresponsive: no heartbeat for ${(silent / 1000).toFixed(1)} s`,
        );
      }
      if (silent >= timeoutMs) {
        this.log.error(
          { workerId: proc.slotId, pid: proc.pid, silentMs: silent, lastLag: proc.lag, heartbeatTimeout: timeoutMs / 1000 },
          `worker ${proc.slotId} (pid ${proc.pid}) killed: its event loop has not answered for ${(silent / 1000).toFixed(1)} s (heartbeatTimeout ${timeoutMs / 1000} s; stopped, or stuck in a busy loop?)`,
        );
        proc.lastSeen = now; // one kill
        proc.worker.process.kill('SIGKILL');
      }
    }
  }

  /** The event-loop lag to show for `proc`: its own figure, or how long it has been silent. */
  lagOf(proc: Proc, now = Date.now()): number {
    const silent = now - proc.lastSeen;
    return proc.unresponsive ? Math.max(proc.lag, silent) : proc.lag;
  }

  /** Ask every serving worker something; one that does not answer in time is skipped. */
  async query<T>(what: 'stats' | 'connections'): Promise<Map<number, T | undefined>> {
    const pairs = await Promise.all(
      [...this.slots.values()].map(async (s): Promise<[number, T | undefined]> => {
        const p = s.current;
        return [s.id, p && p.ready && !p.unresponsive ? await this.ask<T>(p, what) : undefined];
      }),
    );
    return new Map(pairs);
  }

  private ask<T>(proc: Proc, what: 'stats' | 'connections' | 'phase'): Promise<T | undefined> {
    if (!proc.worker.isConnected()) return Promise.resolve(undefined);
    const id = ++this.queryId;
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => {
        proc.pending.delete(id);
        resolve(undefined);
      }, QUERY_TIMEOUT_MS);
      proc.pending.set(id, (d) => {
        clearTimeout(timer);
        resolve(d as T | undefined);
      });
      this.tell(proc.worker, { t: 'beyod:query', id, what });
    });
  }

  /** Every live connection of every serving worker. */
  async connections(): Promise<ConnectionInfo[]> {
    const all = await this.query<ConnectionInfo[]>('connections');
    return [...all.values()].flatMap((list) => list ?? []);
  }

  /** Stop every process gracefully (within `timeout` s, then killed); no more respawns. */
  async stopAll(timeout: number): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const s of this.slots.values()) if (s.retryTimer) clearTimeout(s.retryTimer);
    const procs = [...this.procs.values()];
    const exits = procs.map(
      (p) => new Promise<void>((resolve) => (p.worker.isDead() ? resolve() : p.worker.once('exit', () => resolve()))),
    );
    for (const p of procs) {
      if (p.role !== 'retiring') this.tell(p.worker, { t: 'beyod:stop', timeout, reason: 'stop' });
    }
    const hard = setTimeout(
      () => procs.forEach((p) => !p.worker.isDead() && p.worker.process.kill('SIGKILL')),
      timeout * 1000 + KILL_GRACE_MS,
    );
    await Promise.all(exits);
    clearTimeout(hard);
  }

  private tell(w: Worker, msg: ToWorker): void {
    if (w.isConnected()) w.send(msg);
    else if (!w.isDead()) w.process.kill('SIGTERM');
  }
}
