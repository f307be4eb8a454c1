import { ClientBase } from './ClientBase';
import { Transaction } from './Transaction';
import type { RedisArg, RespValue } from './types';

/** Options of SET. */
export interface SetOptions {
  /** Expire after this many seconds. */
  ex?: number;
  /** Expire after this many milliseconds. */
  px?: number;
  /** Only set if the key does not exist (then null when it did). */
  nx?: boolean;
  /** Only set if the key exists (then null when it did not). */
  xx?: boolean;
  /** Keep the key's time to live. */
  keepTtl?: boolean;
}

/**
 * An asynchronous Redis client on StreamClient: every command returns a promise, many may be
 * in flight at once (pipelining; replies are matched in order), and a reply error rejects only
 * its own command.
 *
 *     const client = new redis.Client({ target: 'tcp://127.0.0.1:6379', db: 2 });
 *     await client.connect();
 *     await client.set('k', 'v', { ex: 60 });
 *     const v = await client.get('k');
 *
 * Any command goes through `call()`; the helpers below cover the common ones and give their
 * replies a type (with `returnBuffers`, string results are Buffers). Replies are typed for RESP2
 * and RESP3 alike (a RESP3 map from HGETALL is turned into an object, as its RESP2 array is).
 */
export class Client extends ClientBase {
  /** PONG, or the message given. Allowed in pub/sub mode. */
  ping(message?: RedisArg): Promise<string> {
    return this.command(message === undefined ? ['PING'] : ['PING', message], pong, 'ping');
  }

  echo(message: RedisArg): Promise<string> {
    return this.command(['ECHO', message], null);
  }

  /** Select a database; it is selected again after a reconnect. */
  select(db: number): Promise<'OK'> {
    return this.call('SELECT', db);
  }

  // Strings and keys

  get(key: RedisArg): Promise<string | null> {
    return this.command(['GET', key], null);
  }

  /** SET; 'OK', or null when NX/XX prevented it. */
  set(key: RedisArg, value: RedisArg, options?: SetOptions): Promise<'OK' | null> {
    const args: RedisArg[] = ['SET', key, value];
    if (options !== undefined) {
      if (options.ex !== undefined) args.push('EX', options.ex);
      if (options.px !== undefined) args.push('PX', options.px);
      if (options.nx) args.push('NX');
      if (options.xx) args.push('XX');
      if (options.keepTtl) args.push('KEEPTTL');
    }
    return this.command(args, null);
  }

  mget(...keys: RedisArg[]): Promise<Array<string | null>> {
    return this.command(['MGET', ...keys], null);
  }

  mset(values: Record<string, RedisArg>): Promise<'OK'> {
    const args: RedisArg[] = ['MSET'];
    for (const [k, v] of Object.entries(values)) args.push(k, v);
    return this.command(args, null);
  }

  /** Number of keys deleted. */
  del(...keys: RedisArg[]): Promise<number> {
    return this.command(['DEL', ...keys], null);
  }

  /** Number of the keys that exist. */
  exists(...keys: RedisArg[]): Promise<number> {
    return this.command(['EXISTS', ...keys], null);
  }

  /** 1 if the timeout was set, 0 if the key does not exist. */
  expire(key: RedisArg, seconds: number): Promise<number> {
    return this.command(['EXPIRE', key, seconds], null);
  }

  pexpire(key: RedisArg, milliseconds: number): Promise<number> {
    return this.command(['PEXPIRE', key, milliseconds], null);
  }

  /** Seconds to live; -1 without expiry, -2 when the key does not exist. */
  ttl(key: RedisArg): Promise<number> {
    return this.command(['TTL', key], null);
  }

  pttl(key: RedisArg): Promise<number> {
    return this.command(['PTTL', key], null);
  }

  persist(key: RedisArg): Promise<number> {
    return this.command(['PERSIST', key], null);
  }

  type(key: RedisArg): Promise<string> {
    return this.command(['TYPE', key], null);
  }

  rename(key: RedisArg, newKey: RedisArg): Promise<'OK'> {
    return this.command(['RENAME', key, newKey], null);
  }

  /** KEYS blocks the server while it walks every key; prefer scan() on big databases. */
  keys(pattern: RedisArg): Promise<string[]> {
    return this.command(['KEYS', pattern], toArray);
  }

  /** One SCAN step: the next cursor ('0' when done) and a batch of keys. */
  scan(cursor: RedisArg, options: { match?: string; count?: number; type?: string } = {}): Promise<[string, string[]]> {
    const args: RedisArg[] = ['SCAN', cursor];
    if (options.match !== undefined) args.push('MATCH', options.match);
    if (options.count !== undefined) args.push('COUNT', options.count);
    if (options.type !== undefined) args.push('TYPE', options.type);
    return this.command(args, (r) => {
      const [next, keys] = r as [RespValue, RespValue];
      return [String(next), toArray(keys)];
    });
  }

  incr(key: RedisArg): Promise<number> {
    return this.command(['INCR', key], null);
  }

  incrby(key: RedisArg, by: number): Promise<number> {
    return this.command(['INCRBY', key, by], null);
  }

  decr(key: RedisArg): Promise<number> {
    return this.command(['DECR', key], null);
  }

  decrby(key: RedisArg, by: number): Promise<number> {
    return this.command(['DECRBY', key, by], null);
  }

  incrbyfloat(key: RedisArg, by: number): Promise<number> {
    return this.command(['INCRBYFLOAT', key, by], Number);
  }

  /** Length of the string after the append. */
  append(key: RedisArg, value: RedisArg): Promise<number> {
    return this.command(['APPEND', key, value], null);
  }

  strlen(key: RedisArg): Promise<number> {
    return this.command(['STRLEN', key], null);
  }

  // Hashes

  hget(key: RedisArg, field: RedisArg): Promise<string | null> {
    return this.command(['HGET', key, field], null);
  }

  /** hset(key, field, value) or hset(key, { field: value, ... }); the number of fields added. */
  hset(key: RedisArg, field: RedisArg | Record<string, RedisArg>, value?: RedisArg): Promise<number> {
    const args: RedisArg[] = ['HSET', key];
    if (typeof field === 'object' && !Buffer.isBuffer(field)) for (const [f, v] of Object.entries(field)) args.push(f, v);
    else args.push(field, value as RedisArg);
    return this.command(args, null);
  }

  hmget(key: RedisArg, ...fields: RedisArg[]): Promise<Array<string | null>> {
    return this.command(['HMGET', key, ...fields], null);
  }

  /** The whole hash as an object ({} when the key does not exist). */
  hgetall(key: RedisArg): Promise<Record<string, string>> {
    return this.command(['HGETALL', key], toObject);
  }

  hdel(key: RedisArg, ...fields: RedisArg[]): Promise<number> {
    return this.command(['HDEL', key, ...fields], null);
  }

  hexists(key: RedisArg, field: RedisArg): Promise<number> {
    return this.command(['HEXISTS', key, field], null);
  }

  hincrby(key: RedisArg, field: RedisArg, by: number): Promise<number> {
    return this.command(['HINCRBY', key, field, by], null);
  }

  hkeys(key: RedisArg): Promise<string[]> {
    return this.command(['HKEYS', key], toArray);
  }

  hvals(key: RedisArg): Promise<string[]> {
    return this.command(['HVALS', key], toArray);
  }

  hlen(key: RedisArg): Promise<number> {
    return this.command(['HLEN', key], null);
  }

  // Lists

  /** Length of the list after the push. */
  lpush(key: RedisArg, ...values: RedisArg[]): Promise<number> {
    return this.command(['LPUSH', key, ...values], null);
  }

  rpush(key: RedisArg, ...values: RedisArg[]): Promise<number> {
    return this.command(['RPUSH', key, ...values], null);
  }

  lpop(key: RedisArg): Promise<string | null> {
    return this.command(['LPOP', key], null);
  }

  rpop(key: RedisArg): Promise<string | null> {
    return this.command(['RPOP', key], null);
  }

  lrange(key: RedisArg, start: number, stop: number): Promise<string[]> {
    return this.command(['LRANGE', key, start, stop], toArray);
  }

  llen(key: RedisArg): Promise<number> {
    return this.command(['LLEN', key], null);
  }

  lindex(key: RedisArg, index: number): Promise<string | null> {
    return this.command(['LINDEX', key, index], null);
  }

  lrem(key: RedisArg, count: number, value: RedisArg): Promise<number> {
    return this.command(['LREM', key, count, value], null);
  }

  ltrim(key: RedisArg, start: number, stop: number): Promise<'OK'> {
    return this.command(['LTRIM', key, start, stop], null);
  }

  // Sets

  sadd(key: RedisArg, ...members: RedisArg[]): Promise<number> {
    return this.command(['SADD', key, ...members], null);
  }

  srem(key: RedisArg, ...members: RedisArg[]): Promise<number> {
    return this.command(['SREM', key, ...members], null);
  }

  smembers(key: RedisArg): Promise<string[]> {
    return this.command(['SMEMBERS', key], toArray);
  }

  sismember(key: RedisArg, member: RedisArg): Promise<number> {
    return this.command(['SISMEMBER', key, member], null);
  }

  scard(key: RedisArg): Promise<number> {
    return this.command(['SCARD', key], null);
  }

  // Sorted sets

  /** zadd(key, score, member, score2, member2, ...): the number of members added. */
  zadd(key: RedisArg, ...scoreMembers: RedisArg[]): Promise<number> {
    return this.command(['ZADD', key, ...scoreMembers], null);
  }

  /** Members by rank (ascending). */
  zrange(key: RedisArg, start: number, stop: number): Promise<string[]> {
    return this.command(['ZRANGE', key, start, stop], toArray);
  }

  /** Members by rank with their scores. */
  zrangeWithScores(key: RedisArg, start: number, stop: number): Promise<Array<{ member: string; score: number }>> {
    return this.command(['ZRANGE', key, start, stop, 'WITHSCORES'], toScored);
  }

  zscore(key: RedisArg, member: RedisArg): Promise<number | null> {
    return this.command(['ZSCORE', key, member], toNumberOrNull);
  }

  zincrby(key: RedisArg, by: number, member: RedisArg): Promise<number> {
    return this.command(['ZINCRBY', key, by, member], Number);
  }

  zrank(key: RedisArg, member: RedisArg): Promise<number | null> {
    return this.command(['ZRANK', key, member], null);
  }

  zrem(key: RedisArg, ...members: RedisArg[]): Promise<number> {
    return this.command(['ZREM', key, ...members], null);
  }

  zcard(key: RedisArg): Promise<number> {
    return this.command(['ZCARD', key], null);
  }

  // Pub/sub

  /** Number of subscribers that received the message. */
  publish(channel: RedisArg, message: RedisArg): Promise<number> {
    return this.command(['PUBLISH', channel, message], null);
  }

  /**
   * Subscribe to channels; deliveries come as 'message' events. Resolves with the number of
   * subscriptions once all are confirmed. On RESP2 the connection is then in pub/sub mode.
   */
  subscribe(...channels: RedisArg[]): Promise<number> {
    return this.subCommand(0, true, ['SUBSCRIBE', ...channels]);
  }

  /** Unsubscribe from the channels given, or from all when none is given. */
  unsubscribe(...channels: RedisArg[]): Promise<number> {
    return this.subCommand(0, false, ['UNSUBSCRIBE', ...channels]);
  }

  /** Subscribe to glob patterns; deliveries are 'message' events of kind 'pmessage'. */
  psubscribe(...patterns: RedisArg[]): Promise<number> {
    return this.subCommand(1, true, ['PSUBSCRIBE', ...patterns]);
  }

  punsubscribe(...patterns: RedisArg[]): Promise<number> {
    return this.subCommand(1, false, ['PUNSUBSCRIBE', ...patterns]);
  }

  // Transactions and server

  /** Start a MULTI/EXEC block (sent by its exec()). */
  multi(): Transaction {
    return new Transaction((commands) => this.transaction(commands));
  }

  watch(...keys: RedisArg[]): Promise<'OK'> {
    return this.command(['WATCH', ...keys], null);
  }

  unwatch(): Promise<'OK'> {
    return this.command(['UNWATCH'], null);
  }

  flushdb(): Promise<'OK'> {
    return this.command(['FLUSHDB'], null);
  }

  flushall(): Promise<'OK'> {
    return this.command(['FLUSHALL'], null);
  }

  dbsize(): Promise<number> {
    return this.command(['DBSIZE'], null);
  }

  info(section?: string): Promise<string> {
    return this.command(section === undefined ? ['INFO'] : ['INFO', section], null);
  }
}

// Reply shapes that differ between RESP2 and RESP3, made the same.

/** PING in RESP2 pub/sub mode answers ["pong", message]. */
function pong(r: RespValue): string {
  if (Array.isArray(r)) return r[1] === '' || r[1] === undefined ? 'PONG' : String(r[1]);
  return String(r);
}

function toArray(r: RespValue): string[] {
  if (r instanceof Set) return [...r] as string[];
  return (r ?? []) as string[];
}

function toObject(r: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (r instanceof Map) {
    for (const [k, v] of r) out[String(k)] = v as string;
  } else if (Array.isArray(r)) {
    for (let i = 0; i + 1 < r.length; i += 2) out[String(r[i])] = r[i + 1] as string;
  }
  return out;
}

function toNumberOrNull(r: RespValue): number | null {
  return r === null ? null : Number(r);
}

/** RESP2: [m1, s1, m2, s2]; RESP3: [[m1, s1], [m2, s2]]. */
function toScored(r: RespValue): Array<{ member: string; score: number }> {
  const a = (r ?? []) as RespValue[];
  const out: Array<{ member: string; score: number }> = [];
  if (a.length > 0 && Array.isArray(a[0])) {
    for (const pair of a as RespValue[][]) out.push({ member: String(pair[0]), score: Number(pair[1]) });
  } else {
    for (let i = 0; i + 1 < a.length; i += 2) out.push({ member: String(a[i]), score: Number(a[i + 1]) });
  }
  return out;
}
