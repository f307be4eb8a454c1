import { BeyodError, ErrorCodes, toError } from '../errors';
import type { ShutdownReason } from '../events';
import type { Logger } from '../logger';
import { type MasterSettings, type SettingChange, diffSettings } from './settings';
import type { Proc } from './slots';
import type { Supervisor } from './Supervisor';

/** What a reload did. */
export interface ReloadResult {
  /**
   * Workers now running the new code: old pid -> new pid; with live handoff, how many of the
   * old process's connections moved to the new one, how many drained (closed when the old
   * process went), and how many were lost on the way (none, unless a process died meanwhile).
   */
  replaced: Array<Replacement>;
  /** Worker ids added because workerNum went up. */
  started: Array<{ workerId: number; pid: number }>;
  /** Worker ids retired because workerNum went down. */
  retired: Array<{ workerId: number; pid: number }>;
  /** Worker ids still running the code they had before the reload (after a failure). */
  old: number[];
  /** Set when the reload stopped part-way: which worker failed, and why. */
  failed?: { workerId: number; message: string };
  /** Settings that differ from the running ones, and what the reload did about each. */
  changes: SettingChange[];
  ms: number;
}

/** One worker replaced by a reload or a recycle. */
export interface Replacement {
  workerId: number;
  oldPid: number;
  newPid: number;
  /** Live handoff: connections moved to the new process (absent when there was no handoff). */
  moved?: number;
  /** Live handoff: connections that stayed on the old process and drained. */
  drained?: number;
  lost?: number;
}

/**
 * Owns the replace sequence: one replacement at a time (reload, recycling), each forking the
 * new process, waiting until it accepts, and only then retiring the old one (the supervisor
 * promotes it), so some process always accepts under every id. A reload re-reads the config
 * first (through `loadSettings`), applies what the master itself holds (workerNum,
 * maxRequests...), and reports the rest.
 */
export class Reloader {
  private queue: Promise<unknown> = Promise.resolve();
  private reloading: Promise<ReloadResult> | undefined;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly log: Logger,
    private readonly settings: { get: () => MasterSettings; set: (s: MasterSettings) => void },
    private readonly loadSettings?: () => Promise<MasterSettings>,
  ) {}

  /** Run `fn` after every replacement queued before it. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Replace worker `id` (maxRequests, maxMemory). */
  recycle(id: number): Promise<unknown> {
    return this.enqueue(() => this.replace(id, Date.now(), 'recycle'));
  }

  /**
   * Give worker `id` a process forked after `since`. A process that already is (a respawn
   * after a crash during the reload) counts; a replacement already starting is waited for.
   * With live handoff, the old process's connections are moved before this resolves (the next
   * replacement starts after it), so the result says how many moved.
   */
  private async replace(id: number, since: number, reason: ShutdownReason): Promise<Omit<Replacement, 'workerId'> | undefined> {
    const old = this.supervisor.slots.get(id)?.current ?? undefined;
    const oldPid = old?.pid ?? 0;
    for (;;) {
      if (this.supervisor.stopping) throw new BeyodError(ErrorCodes.RELOAD_FAILED, 'the server is stopping');
      const s = this.supervisor.slots.get(id);
      if (!s) return undefined; // retired meanwhile (workerNum lowered)
      if (s.incoming) {
        await s.incoming.settled.catch(() => {});
        continue;
      }
      if (s.current && s.current.forkedAt >= since) return { oldPid, newPid: s.current.pid, ...(await this.handedOff(old)) };
      const fresh = await this.supervisor.spawn(id, reason);
      return { oldPid, newPid: fresh.pid, ...(await this.handedOff(old)) };
    }
  }

  /** How the old process's live handoff went, once it is over (nothing when it had none). */
  private async handedOff(old: Proc | undefined): Promise<Pick<Replacement, 'moved' | 'drained' | 'lost'>> {
    if (!old || old.role !== 'retiring') return {};
    const r = await this.supervisor.handedOff(old);
    return r ? { moved: r.moved, drained: r.drained, ...(r.lost > 0 && { lost: r.lost }) } : {};
  }

  /** Rolling reload: re-read the config, then replace every worker one at a time, and scale. */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.run().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async run(): Promise<ReloadResult> {
    const started = Date.now();
    this.log.info('rolling reload');
    let changes: SettingChange[] = [];
    if (this.loadSettings) {
      let next: MasterSettings;
      try {
        next = await this.loadSettings();
      } catch (e) {
        const err = BeyodError.from(e);
        this.log.error({ code: err.code, err: err.message }, 'reload refused: the config is invalid');
        throw new BeyodError(ErrorCodes.RELOAD_FAILED, `reload refused, no worker was replaced: ${err.message}`, { cause: err.toJSON() });
      }
      const current = this.settings.get();
      changes = diffSettings(current, next);
      // what needs a restart stays as it is; the rest applies now
      const kept = Object.fromEntries(changes.filter((c) => c.effect === 'restart').map((c) => [c.key, c.from]));
      this.settings.set({ ...next, ...kept });
      for (const c of changes) {
        this.log.info({ setting: c.key, from: c.from, to: c.to, effect: c.effect }, describeChange(c));
      }
    }
    const target = this.settings.get().workerNum;
    const result: ReloadResult = { replaced: [], started: [], retired: [], old: [], changes, ms: 0 };
    const ids = [...this.supervisor.slots.keys()].sort((a, b) => a - b);
    for (const id of ids.filter((i) => i > target)) {
      const p = this.supervisor.removeSlot(id);
      result.retired.push({ workerId: id, pid: p?.pid ?? 0 });
    }
    const keep = ids.filter((i) => i <= target);
    for (let i = 0; i < keep.length; i++) {
      const id = keep[i]!;
      try {
        const r = await this.enqueue(() => this.replace(id, started, 'reload'));
        if (r) result.replaced.push({ workerId: id, ...r });
      } catch (e) {
        result.failed = { workerId: id, message: toError(e).message };
        result.old = keep.slice(i);
        break;
      }
    }
    if (!result.failed) {
      for (let id = (ids.length ? Math.max(...ids.filter((i) => i <= target), 0) : 0) + 1; id <= target; id++) {
        try {
          const p = await this.enqueue(() => this.supervisor.spawn(id));
          result.started.push({ workerId: id, pid: p.pid });
        } catch (e) {
          result.failed = { workerId: id, message: toError(e).message };
          break;
        }
      }
    }
    // a failed new slot is still supervised: it is re-forked with back-off like a crash
    result.ms = Date.now() - started;
    if (result.failed) {
      this.log.error(
        { failed: result.failed, replaced: result.replaced.map((r) => r.workerId), old: result.old },
        `reload stopped at worker ${result.failed.workerId}: ${result.failed.message}`,
      );
    } else {
      this.log.info(
        { replaced: result.replaced.length, started: result.started.length, retired: result.retired.length, ms: result.ms },
        'reload done',
      );
    }
    return result;
  }
}

/** One line about a changed setting, for the log and the CLI. */
export function describeChange(c: SettingChange): string {
  const v = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  const what = `${c.key} changed from ${v(c.from)} to ${v(c.to)}`;
  if (c.effect === 'applied') return `${what}: applied`;
  if (c.effect === 'workers') return `${what}: the new workers run with it`;
  return `${what}: needs a restart (\`beyod restart\`); still ${v(c.from)} until then`;
}
