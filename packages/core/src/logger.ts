import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Options for the root logger (`log` in the config). */
export interface LogOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default: BEYOD_LOG_LEVEL or info. */
  level?: string;
  /** Write to this file instead of stdout (resolved against the app directory by the caller). */
  file?: string;
}

let root: Logger | undefined;

/** Build a root logger: one JSON line per event, with pid, and nothing else bound yet. */
export function createLogger(options: LogOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.BEYOD_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
  };
  if (options.file) return pino(opts, pino.destination({ dest: options.file, mkdir: true, sync: true }));
  return pino(opts, pino.destination({ dest: 1, sync: true }));
}

/** The process-wide root logger (created on first use, replaceable with setRootLogger). */
export function rootLogger(): Logger {
  if (!root) root = createLogger();
  return root;
}

export function setRootLogger(logger: Logger): void {
  root = logger;
}
