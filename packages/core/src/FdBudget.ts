import * as fs from 'node:fs';
import type { Logger } from './logger';

/**
 * How many connections this process may hold before it runs out of file descriptors, shared by
 * all its listeners. A worker that reaches its `ulimit -n` cannot accept, read /proc (its own
 * memory figures), open a static file or a log: so it refuses new connections a little
 * before, keeping a reserve for the rest of its work, and carries on serving the ones it has.
 *
 * The budget is the soft RLIMIT_NOFILE (read from /proc/self/limits; no budget where that is
 * not available), minus the descriptors open when the first listener started, minus a reserve
 * (5 % of the limit, at least 32, at most 1024). Should EMFILE / ENFILE still happen (the
 * application opened files or clients of its own), the number of connections open then
 * becomes the budget until some close.
 *
 * An episode (refusing, then accepting again) is logged twice: a warning when it starts, and
 * how many connections were refused when it ends — never once per connection.
 */
export class FdBudget {
  /** Soft limit on open descriptors; Infinity when unknown. */
  limit = Infinity;
  /** Connections the process may hold (Infinity: no budget). */
  budget = Infinity;
  /** Connections open now, over every listener of the process. */
  open = 0;
  /** Refused since the current episode began (0 outside an episode). */
  refused = 0;
  private started = false;
  private episodeAt = 0;
  /** Set by an EMFILE/ENFILE: the budget until the episode ends. */
  private learned = Infinity;

  /** Measure the limit and what is open already (once per process, when a listener starts). */
  init(): void {
    if (this.started) return;
    this.started = true;
    this.limit = readLimit();
    if (this.limit === Infinity) return;
    const inUse = countOpen();
    const reserve = Math.min(1024, Math.max(32, Math.ceil(this.limit / 20)));
    this.budget = Math.max(1, this.limit - inUse - reserve);
  }

  /** A connection was accepted: false when it must be refused (counted, logged once per episode). */
  take(log: Logger, listener: string): boolean {
    if (this.open < this.budget && this.open < this.learned) {
      this.open++;
      return true;
    }
    this.refuse(log, listener, undefined);
    return false;
  }

  /** A connection taken with take() closed. */
  release(log: Logger): void {
    this.open--;
    if (this.refused > 0 && this.open < this.budget && this.open < this.learned) this.endEpisode(log);
  }

  /** accept() failed with EMFILE / ENFILE (a listener's own accept, in single-process mode). */
  exhausted(log: Logger, listener: string, err: NodeJS.ErrnoException): void {
    this.learned = Math.max(1, this.open);
    this.refuse(log, listener, err);
  }

  private refuse(log: Logger, listener: string, err: NodeJS.ErrnoException | undefined): void {
    if (this.refused++ > 0) return;
    this.episodeAt = Date.now();
    log.warn(
      { listener, open: this.open, limit: this.limit === Infinity ? undefined : this.limit, code: err?.code ?? 'EMFILE' },
      `out of file descriptors (${this.open} connections open, ulimit -n ${this.limit === Infinity ? '?' : this.limit}): ` +
        'refusing new connections until some close',
    );
  }

  private endEpisode(log: Logger): void {
    log.info(
      { refused: this.refused, ms: Date.now() - this.episodeAt, open: this.open },
      `accepting connections again, after refusing ${this.refused} while out of file descriptors`,
    );
    this.refused = 0;
    this.learned = Infinity;
  }
}

/** True for the errors of a process (EMFILE) or a system (ENFILE) out of file descriptors. */
export function isOutOfDescriptors(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

function readLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

function countOpen(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** The process's budget (descriptors are a per-process resource). */
export const fdBudget = new FdBudget();
