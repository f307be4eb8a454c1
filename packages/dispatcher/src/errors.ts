import { BeyodError } from '@beyod/core';

/**
 * The numeric codes of `{"command":"error","code":N}` responses. 710–770 are the seed's;
 * 780 and up are new. Never renumbered: clients in other languages match on them.
 */
export const WireCodes = {
  /** The request has no `command` (or it is not a string). */
  NO_COMMAND: 710,
  /** `command` names no command this dispatcher knows. */
  UNKNOWN_COMMAND: 720,
  /** A field the command needs (`key`, `value`) is missing or null. */
  NO_DATA: 730,
  /**
   * A limit was reached (`limit` names it): hashSize, queueSize, memoryLimit, maxBlockedPops,
   * maxSubscriptions, maxClients, maxPacketSize.
   */
  EXCEED_LIMIT: 740,
  /** The request has no `seq`, or it is not a string or a number. */
  NO_SEQ: 750,
  /**
   * The body is not a JSON object (or not UTF-8, or nests deeper than the parser's maxDepth),
   * or a field has the wrong type (expire, priority, timeout...).
   */
  DATA_ERROR: 760,
  /** A key is not a string or an integer (or a list of them where lists are allowed). */
  KEY_ERROR: 770,
  /** The dispatcher has a token and this connection has not sent a valid `auth` yet. */
  AUTH_REQUIRED: 780,
  /** `auth` with a wrong token. */
  AUTH_FAILED: 781,
  /** Too many failed `auth` from this address: refused for `retryAfter` seconds, even with the right token. */
  AUTH_THROTTLED: 782,
  /** The dispatcher failed while handling the request (a bug: it is logged); the request may not have been done. */
  INTERNAL_ERROR: 790,
} as const;

export type WireCode = (typeof WireCodes)[keyof typeof WireCodes];

/**
 * String codes of the errors the dispatcher Client rejects with (`error.code`). An error
 * response from the server maps to the code named after its wire code; `error.wireCode`
 * keeps the number and `error.response` the packet.
 */
export const DispatcherErrorCodes = {
  NO_COMMAND: 'BEYOD_DISPATCHER_NO_COMMAND',
  UNKNOWN_COMMAND: 'BEYOD_DISPATCHER_UNKNOWN_COMMAND',
  NO_DATA: 'BEYOD_DISPATCHER_NO_DATA',
  EXCEED_LIMIT: 'BEYOD_DISPATCHER_EXCEED_LIMIT',
  NO_SEQ: 'BEYOD_DISPATCHER_NO_SEQ',
  DATA_ERROR: 'BEYOD_DISPATCHER_DATA_ERROR',
  KEY_ERROR: 'BEYOD_DISPATCHER_KEY_ERROR',
  AUTH_REQUIRED: 'BEYOD_DISPATCHER_AUTH_REQUIRED',
  AUTH_FAILED: 'BEYOD_DISPATCHER_AUTH_FAILED',
  AUTH_THROTTLED: 'BEYOD_DISPATCHER_AUTH_THROTTLED',
  INTERNAL_ERROR: 'BEYOD_DISPATCHER_INTERNAL_ERROR',
  /** An error response with a code this client does not know (a newer server). */
  SERVER_ERROR: 'BEYOD_DISPATCHER_SERVER_ERROR',
  /** No response within requestTimeout (or the request waited that long for a connection). */
  TIMEOUT: 'BEYOD_DISPATCHER_TIMEOUT',
  /** The connection was lost while the request was in flight; whether it was done is unknown. */
  DISCONNECTED: 'BEYOD_DISPATCHER_DISCONNECTED',
  /** The request was made while not connected and not reconnecting, or the offline queue was full. */
  NOT_CONNECTED: 'BEYOD_DISPATCHER_NOT_CONNECTED',
  /** The client was closed while the request waited. */
  CLIENT_CLOSED: 'BEYOD_DISPATCHER_CLIENT_CLOSED',
  /** A client-side argument was invalid (caught before anything was sent). */
  INVALID_ARGUMENT: 'BEYOD_DISPATCHER_INVALID_ARGUMENT',
} as const;

export type DispatcherErrorCode = (typeof DispatcherErrorCodes)[keyof typeof DispatcherErrorCodes];

const byWire = new Map<number, DispatcherErrorCode>(
  (Object.keys(WireCodes) as Array<keyof typeof WireCodes>).map((k) => [WireCodes[k], DispatcherErrorCodes[k]]),
);

/** The string code for a wire code (SERVER_ERROR for one this version does not know). */
export function codeOfWire(wireCode: number): DispatcherErrorCode {
  return byWire.get(wireCode) ?? DispatcherErrorCodes.SERVER_ERROR;
}

/** What the dispatcher Client rejects with. */
export class DispatcherError extends BeyodError {
  override name = 'DispatcherError';
  constructor(
    code: DispatcherErrorCode,
    message: string,
    /** The numeric code of the error response (undefined for client-side errors). */
    readonly wireCode?: number,
    /** The error packet as received. */
    readonly response?: Record<string, unknown>,
  ) {
    super(code, message, wireCode === undefined ? undefined : { wireCode });
  }
}
