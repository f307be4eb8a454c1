import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { LogDestination } from './logDestination';

export type { Logger };

/** Options for the root logger (`log` in the config). */
export interface LogOptions {
  /** pino level: trace, debug, info, warn, error, fatal, silent. Default: BEYOD_LOG_LEVEL or info. */
  level?: string;
  /** Write to this file instead of stdout (resolved against the app directory by the caller). */
  file?: string;
  /**
   * `json`: one JSON object a line; `pretty`: coloured, human lines (pino-pretty); `auto`
   * (default): pretty when writing to a terminal, JSON anywhere else (files, pipes, journald).
   */
  format?: 'auto' | 'json' | 'pretty';
}

let root: Logger | undefined;

/**
 * Build a root logger: one JSON line per event, with pid, and nothing else bound yet. It writes
 * to `destination` when given, else to `options.file`, else to stdout (human lines on a
 * terminal: see LogOptions.format). In a worker forked by
 * the master (BEYOD_LOG_FD set), it writes to the master's log channel instead: the master
 * owns the log file and its format.
 */
export function createLogger(options: LogOptions = {}, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.BEYOD_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    hooks: { logMethod: oneKeyOnce },
  };
  if (destination) return pino(opts, destination);
  const channel = Number(process.env.BEYOD_LOG_FD);
  if (Number.isInteger(channel) && channel > 2) return pino(opts, pino.destination({ dest: channel, sync: true }));
  // a daemon writes to its logFile unless the config names another file
  return pino(opts, new LogDestination({ ...options, file: options.file || process.env.BEYOD_LOG_FILE || undefined }));
}

function streamOf(logger: Logger): { reopen?: () => void; file?: string } | undefined {
  return (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { reopen?: () => void; file?: string } | undefined;
}

/** Reopen the file `logger` writes to, if it writes to one (after logrotate moved it). */
export function reopenLog(logger: Logger): void {
  streamOf(logger)?.reopen?.();
}

/** The file `logger` writes to ('' for stdout or a stream without a name). */
export function logFileOf(logger: Logger): string {
  const file = streamOf(logger)?.file;
  return typeof file === 'string' ? file : '';
}

/** The process-wide root logger (created on first use, replaceable with setRootLogger). */
export function rootLogger(): Logger {
  if (!root) root = createLogger();
  return root;
}

export function setRootLogger(logger: Logger): void {
  root = logger;
}

/*
 * pino writes a child's bindings and the call's object side by side without merging them
 * (a documented speed trade-off), so `log.child({ gpid }).info({ gpid }, 'ready')` printed
 * "gpid" twice, and a master line naming a worker's pid repeated the root's "pid". A line
 * must not carry a key twice (JSON readers disagree on which one wins; Elasticsearch refuses
 * it). Here the call's value wins, as in bunyan and winston: when the call's object names a
 * bound key, that one line is written with the clashing bindings left out. A line without a
 * clash costs one lookup per key of its object.
 */
const chindingsSym = pino.symbols.chindingsSym as unknown as string;
type Bound = { chindings: string; keys: Map<string, string> };
const boundKeys = new WeakMap<object, Bound>();

/** The bound keys of `logger` and each one's `"key":value` text, cached per logger. */
function bindingsOf(logger: Record<string, unknown>): Bound {
  const chindings = (logger[chindingsSym] as string | undefined) ?? '';
  let b = boundKeys.get(logger);
  if (b?.chindings === chindings) return b;
  const keys = new Map<string, string>();
  const parsed = chindings ? (JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(parsed)) keys.set(k, `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  b = { chindings, keys };
  boundKeys.set(logger, b);
  return b;
}

function oneKeyOnce(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void): void {
  const obj = args[0] as unknown;
  if (obj === null || typeof obj !== 'object' || obj instanceof Error) return method.apply(this, args);
  const self = this as unknown as Record<string, unknown>;
  const { keys } = bindingsOf(self);
  let clash = false;
  for (const k in obj) {
    if (keys.has(k)) {
      clash = true;
      break;
    }
  }
  if (!clash) return method.apply(this, args);
  let kept = '';
  for (const [k, text] of keys) if (!(k in obj)) kept += `,${text}`;
  const saved = self[chindingsSym];
  self[chindingsSym] = kept;
  try {
    method.apply(this, args); // the write is synchronous: the bindings are back before anything else logs
  } finally {
    self[chindingsSym] = saved;
  }
}
