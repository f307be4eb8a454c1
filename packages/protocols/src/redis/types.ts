import { BeyodError } from '@beyod/core';
import { RedisErrorCodes } from './errors';

/**
 * A decoded RESP value. Simple and bulk strings are strings (Buffers with returnBuffers),
 * integers numbers (bigint past 2^53), RESP3 doubles numbers, booleans booleans, big numbers
 * bigint, nulls null, arrays arrays, maps Map, sets Set, pushes RespPush. An error reply is a
 * RedisReplyError value (it rejects the command's promise at the top level, and stays a value
 * inside an array, as in an EXEC result).
 */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | RedisReplyError
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>
  | RespPush;

/** A command argument: strings are sent as UTF-8, numbers in decimal, Buffers as they are. */
export type RedisArg = string | number | Buffer;

/** An error reply from Redis (`-WRONGTYPE Operation against...`). `prefix` is its first word. */
export class RedisReplyError extends BeyodError {
  override name = 'RedisReplyError';
  /** The error's first word: ERR, WRONGTYPE, NOAUTH, EXECABORT, ... */
  readonly prefix: string;

  constructor(message: string, command?: string) {
    const sp = message.indexOf(' ');
    const prefix = sp > 0 ? message.slice(0, sp) : message;
    super(RedisErrorCodes.REPLY, message, command === undefined ? { prefix } : { prefix, command });
    this.prefix = prefix;
  }
}

/** A RESP3 out-of-band push (`>`): pub/sub deliveries, subscription confirmations, invalidations. */
export class RespPush {
  constructor(readonly data: RespValue[]) {}

  /** The push's kind, its first element ('message', 'subscribe', 'invalidate', ...). */
  get kind(): string {
    const k = this.data[0];
    return typeof k === 'string' ? k : Buffer.isBuffer(k) ? k.toString() : String(k);
  }
}
