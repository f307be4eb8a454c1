/**
 * Every error beyod raises carries a stable string code. Codes are never reused or renumbered;
 * each is listed in docs/errors.md (a test keeps the two in sync).
 */
export const ErrorCodes = {
  /** An error that had no code of its own, wrapped (BeyodError.from); its cause is attached. */
  ERROR: 'BEYOD_ERROR',
  /** A configuration value is missing, unknown or of the wrong type; `data.path` names the key. */
  CONFIG_INVALID: 'BEYOD_CONFIG_INVALID',
  /** No config file where one was expected. */
  CONFIG_NOT_FOUND: 'BEYOD_CONFIG_NOT_FOUND',
  /** `app.get(id)` named a component that is not configured. */
  COMPONENT_NOT_FOUND: 'BEYOD_COMPONENT_NOT_FOUND',
  /** A listen / target URL could not be understood. */
  URL_INVALID: 'BEYOD_URL_INVALID',
  /** A listener could not bind (address in use, permission, missing directory). */
  LISTEN_FAILED: 'BEYOD_LISTEN_FAILED',
  /** A packet was larger than the parser's maxPacketSize. */
  PACKET_TOO_LARGE: 'BEYOD_PACKET_TOO_LARGE',
  /** The parser refused the bytes it was given (input() < 0 or threw, or decode() threw). */
  BAD_PACKET: 'BEYOD_BAD_PACKET',
  /** A message was dropped because the connection's send buffer was over maxSendBuffer. */
  SEND_BUFFER_FULL: 'BEYOD_SEND_BUFFER_FULL',
  /** A handler method threw or its promise rejected. */
  HANDLER_FAILED: 'BEYOD_HANDLER_FAILED',
  /** An outbound connection did not connect within connectTimeout. */
  CONNECT_TIMEOUT: 'BEYOD_CONNECT_TIMEOUT',
  /** An outbound connection failed (refused, reset, unreachable). */
  CONNECT_FAILED: 'BEYOD_CONNECT_FAILED',
  /** A request needs a connection that is not (or no longer) open. */
  NOT_CONNECTED: 'BEYOD_NOT_CONNECTED',
  /** The client was closed by its owner while something waited on it. */
  CLIENT_CLOSED: 'BEYOD_CLIENT_CLOSED',
  /** Another instance already runs with the same pid file. */
  ALREADY_RUNNING: 'BEYOD_ALREADY_RUNNING',
  /** A control command (stop, reload, status) found no running server. */
  NOT_RUNNING: 'BEYOD_NOT_RUNNING',
  /** A control command got no answer in time. */
  CONTROL_TIMEOUT: 'BEYOD_CONTROL_TIMEOUT',
  /** The control socket was asked something it does not do (or not in this mode). */
  UNKNOWN_COMMAND: 'BEYOD_UNKNOWN_COMMAND',
  /** A worker failed to start (its listeners or onWorkerStart threw). */
  WORKER_START_FAILED: 'BEYOD_WORKER_START_FAILED',
  /** The control directory exists but another user owns it or could enter it; beyod will not use it. */
  CONTROL_UNSAFE: 'BEYOD_CONTROL_UNSAFE',
  /** The control socket refused us (permission denied): run the command as the server's user. */
  CONTROL_DENIED: 'BEYOD_CONTROL_DENIED',
  /** A rolling reload stopped before every worker was replaced; `data` says which run new code. */
  RELOAD_FAILED: 'BEYOD_RELOAD_FAILED',
  /** `beyod logs` found no log file: the server logs to its stdout, or never ran as a daemon. */
  NO_LOG_FILE: 'BEYOD_NO_LOG_FILE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Serialized form of an error, as it crosses the master <-> worker channel. */
export interface SerializedError {
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

/** The one error class of the framework: a stable `code`, a message that says what to do, data. */
export class BeyodError extends Error {
  override name = 'BeyodError';
  constructor(
    readonly code: string,
    message: string,
    readonly data?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): SerializedError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  /** Rebuild an error sent as `{ code, message, data }` (e.g. from a worker to the master). */
  static from(e: unknown): BeyodError {
    if (e instanceof BeyodError) return e;
    if (e && typeof e === 'object' && typeof (e as SerializedError).code === 'string') {
      const s = e as SerializedError;
      return new BeyodError(s.code, String(s.message), s.data);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    return new BeyodError(ErrorCodes.ERROR, err.message, undefined, { cause: err });
  }
}

/** A configuration error: names the key path (e.g. `components.server.workerNum`) and the file. */
export class ConfigError extends BeyodError {
  override name = 'ConfigError';
  constructor(
    readonly path: string,
    message: string,
    file?: string,
  ) {
    super(ErrorCodes.CONFIG_INVALID, `${file ? `${file}: ` : ''}${path ? `${path}: ` : ''}${message}`, file ? { path, file } : { path });
  }
}

/** Turn anything thrown into an Error (we emit Error objects, never strings). */
export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(typeof e === 'string' ? e : JSON.stringify(e));
}

/** Wrap what a parser threw as BEYOD_BAD_PACKET (a BeyodError passes through as it is). */
export function badPacketError(e: unknown): BeyodError {
  if (e instanceof BeyodError) return e;
  const err = toError(e);
  return new BeyodError(ErrorCodes.BAD_PACKET, `bad packet: ${err.message}`, undefined, { cause: err });
}
