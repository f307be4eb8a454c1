import { ErrorCodes } from '@beyod/core';
import { redis } from '@beyod/protocols';
import type { DispatcherResponse } from '../Client';
import { DispatcherError, DispatcherErrorCodes, WireCodes } from '../errors';
import type { Key } from '../store/ChannelStore';
import { isKey } from '../wire';

/*
 * What the beyod dispatcher checks on the server, checked in the client for backends that have
 * no dispatcher (Redis): the same refusals, with the same codes (wireCode included).
 */

function refuse(code: keyof typeof WireCodes, command: string, why: string): DispatcherError {
  return new DispatcherError(
    DispatcherErrorCodes[code],
    `${command} failed: ${command}: ${why} (code ${WireCodes[code]})`,
    WireCodes[code],
  );
}

/** The one key of a hash or queue command. */
export function checkSingleKey(command: string, key: unknown): Key {
  if (key === undefined || key === null) throw refuse('NO_DATA', command, 'key is required');
  if (!isKey(key)) throw refuse('KEY_ERROR', command, 'key must be a string or an integer');
  return key;
}

/** A key or a list of keys (publish); duplicates removed, as the dispatcher does. */
export function checkKeyList(command: string, keys: unknown): Key[] {
  if (keys === undefined || keys === null) throw refuse('NO_DATA', command, 'key is required');
  if (isKey(keys)) return [keys];
  if (!Array.isArray(keys)) throw refuse('KEY_ERROR', command, 'key must be a string, an integer or a list of them');
  const seen = new Set<string>();
  const out: Key[] = [];
  for (const k of keys as unknown[]) {
    if (!isKey(k)) throw refuse('KEY_ERROR', command, 'every key must be a string or an integer');
    const name = String(k);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(k);
  }
  return out;
}

/** `value`, JSON-encoded: present, not null, and encodable. */
export function encodeValue(command: string, value: unknown): string {
  if (value === undefined || value === null) throw refuse('NO_DATA', command, 'value is required');
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw refuse('DATA_ERROR', command, `value cannot be encoded as JSON: ${(e as Error).message}`);
  }
  if (json === undefined) throw refuse('DATA_ERROR', command, 'value cannot be encoded as JSON');
  return json;
}

/** An optional finite number field (`expire`, `priority`, `timeout`). */
export function checkNumber(command: string, field: string, v: unknown, min = -Infinity): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw refuse('DATA_ERROR', command, `${field} must be a ${min === 0 ? 'non-negative ' : ''}number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The INVALID_ARGUMENT thrown by subscribe()/unsubscribe() for a bad key, as Client throws it. */
export function checkKeysThrow(where: string, keys: Key | Key[]): Key[] {
  const list = Array.isArray(keys) ? keys : [keys];
  for (const k of list) {
    if (!isKey(k)) {
      throw new DispatcherError(
        DispatcherErrorCodes.INVALID_ARGUMENT,
        `${where}: a key must be a string or a safe integer, got ${String(k)}`,
      );
    }
  }
  return list;
}

let seq = 0;

/** An answer shaped as the dispatcher's. */
export function answer(command: string, key: unknown, extra: Record<string, unknown> = {}): DispatcherResponse {
  return { command, key: key ?? null, code: 0, message: 'ok', seq: ++seq, ...extra };
}

/** JSON.parse, or the text itself when it is not JSON (a value written by something else). */
export function decodeValue(text: unknown): unknown {
  if (text === null || text === undefined) return null;
  const s = Buffer.isBuffer(text) ? text.toString() : String(text);
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** A Redis client's error, as the dispatcher Client would have said it. */
export function fromRedis(e: unknown, command: string, target: string): DispatcherError {
  if (e instanceof DispatcherError) return e;
  const err = e as Error & { code?: string };
  const say = (code: (typeof DispatcherErrorCodes)[keyof typeof DispatcherErrorCodes], why: string) =>
    Object.assign(new DispatcherError(code, `${command} (${target}): ${why}`), { cause: err });
  switch (err.code) {
    case redis.RedisErrorCodes.CONNECTION_LOST:
      return say(DispatcherErrorCodes.DISCONNECTED, `connection lost before the answer; it may or may not have been done (${err.message})`);
    case redis.RedisErrorCodes.OFFLINE_TIMEOUT:
      return say(DispatcherErrorCodes.TIMEOUT, `no connection within the request timeout (${err.message})`);
    case redis.RedisErrorCodes.QUEUE_FULL:
    case ErrorCodes.NOT_CONNECTED:
    case ErrorCodes.CONNECT_FAILED:
    case ErrorCodes.CONNECT_TIMEOUT:
    case redis.RedisErrorCodes.CLUSTER_UNAVAILABLE:
      return say(DispatcherErrorCodes.NOT_CONNECTED, err.message);
    case ErrorCodes.CLIENT_CLOSED:
      return say(DispatcherErrorCodes.CLIENT_CLOSED, 'the client was closed');
    case redis.RedisErrorCodes.HANDSHAKE_FAILED:
      return say(DispatcherErrorCodes.AUTH_FAILED, err.message);
    default:
      return say(DispatcherErrorCodes.SERVER_ERROR, err.message);
  }
}

interface Tracked {
  deadline: number;
  fail: (e: DispatcherError) => void;
  what: string;
}

/**
 * Request deadlines with one timer: requests with the common timeout are tracked in creation
 * order, so the earliest deadline is always at the head (as in Client).
 */
export class Deadlines {
  private readonly open = new Map<number, Tracked>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: string) {}

  /**
   * Race `p` against `seconds` (0 = no deadline): rejects with TIMEOUT when it passes first.
   * Only requests created with the same `seconds` may share one Deadlines (deadlines must grow
   * with creation order); others get a timer of their own.
   */
  wrap<T>(p: Promise<T>, seconds: number, what: string, own = false): Promise<T> {
    if (!(seconds > 0)) return p;
    return new Promise<T>((resolve, reject) => {
      const deadline = performance.now() + seconds * 1000;
      const fail = (e: DispatcherError) => reject(e);
      let done: () => void;
      if (own) {
        const t = setTimeout(() => fail(this.timeout(what)), seconds * 1000);
        t.unref();
        done = () => clearTimeout(t);
      } else {
        const id = ++this.next;
        this.open.set(id, { deadline, fail, what });
        if (this.timer === undefined) this.arm(deadline);
        done = () => this.open.delete(id);
      }
      p.then(
        (v) => {
          done();
          resolve(v);
        },
        (e: unknown) => {
          done();
          reject(e as Error);
        },
      );
    });
  }

  private timeout(what: string): DispatcherError {
    return new DispatcherError(DispatcherErrorCodes.TIMEOUT, `${what} to ${this.target}: no answer within the request timeout`);
  }

  private arm(deadline: number): void {
    this.timer = setTimeout(() => this.sweep(), Math.max(1, deadline - performance.now()));
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [id, t] of this.open) {
      if (t.deadline > now) {
        this.arm(t.deadline);
        return;
      }
      this.open.delete(id);
      t.fail(this.timeout(t.what));
    }
  }
}
