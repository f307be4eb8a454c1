import { prettyFactory } from 'pino-pretty';
import pino from 'pino';
import type { LogOptions } from './logger';

type Boom = ReturnType<typeof pino.destination>;

/** Where a master (or a single process) writes its log, and in which format. */
export interface LogDestinationOptions extends LogOptions {
  /** Write JSON to this file; else to stdout. */
  file?: string;
}

/**
 * The one writer of an application's log: the master's own lines, its workers' records and
 * their console output all go through it, so a file or a terminal gets one format. JSON by
 * default; human lines (pino-pretty) on a terminal, or when `format: 'pretty'`. A file can be
 * reopened (after logrotate moved it).
 */
export class LogDestination {
  readonly file: string | undefined;
  readonly pretty: boolean;
  private readonly out: Boom;
  private readonly prettify: ((line: string) => string) | undefined;

  constructor(options: LogDestinationOptions = {}) {
    this.file = options.file || undefined;
    const format = options.format ?? 'auto';
    const tty = !this.file && Boolean(process.stdout.isTTY);
    this.pretty = format === 'pretty' || (format === 'auto' && tty);
    this.out = this.file
      ? pino.destination({ dest: this.file, mkdir: true, sync: true, append: true })
      : pino.destination({ dest: 1, sync: true });
    this.prettify = this.pretty ? prettyLog(tty) : undefined;
  }

  /** Write complete JSON lines (each ending in a newline); pino calls this for every record. */
  write(lines: string): void {
    if (this.prettify) {
      let start = 0;
      for (let nl = lines.indexOf('\n'); nl >= 0; nl = lines.indexOf('\n', start)) {
        this.out.write(this.prettify(lines.slice(start, nl + 1)));
        start = nl + 1;
      }
      if (start < lines.length) this.out.write(this.prettify(`${lines.slice(start)}\n`));
    } else {
      this.out.write(lines);
    }
  }

  /** Open the file again under its name (logrotate moved the old one away). */
  reopen(): void {
    if (this.file) this.out.reopen();
  }

  flushSync(): void {
    try {
      this.out.flushSync();
    } catch {
      /* nothing buffered, or the descriptor is gone */
    }
  }
}

/**
 * One human line per record: `[12:01:02.345] INFO: worker 2: listening on ... {"listener":"web"}`.
 * Who wrote it (master, worker N, its stdout or stderr) leads the message; the ids that say it
 * are not repeated after it.
 */
export function prettyLog(colorize: boolean): (line: string) => string {
  return prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,serverId,gpid,workerId,role,stream',
    singleLine: true,
    messageFormat: (log: Record<string, unknown>, key: string) => {
      const who = log.workerId ? `worker ${String(log.workerId)}` : log.role === 'master' ? 'master' : '';
      const msg = String(log[key] ?? '');
      return who ? `${who}${log.stream ? ` ${String(log.stream)}` : ''}: ${msg}` : msg;
    },
  }) as (line: string) => string;
}
