import { DispatcherError, DispatcherErrorCodes } from '../errors';

/** A Redis server or cluster, read from a redis:// URL. */
export interface RedisTarget {
  /** tcp://host:port or tls://host:port, one per node (one for a standalone server). */
  urls: string[];
  username?: string;
  password?: string;
  db?: number;
  /** `?prefix=` in the URL. */
  prefix?: string;
}

/** Which backend a target names. */
export type Backend =
  | { kind: 'dispatcher'; url: string }
  | { kind: 'sharded'; urls: string[] }
  | { kind: 'redis'; redis: RedisTarget }
  | { kind: 'cluster'; redis: RedisTarget };

const DISPATCHER_SCHEMES = new Set(['tcp', 'tls', 'ssl', 'unix']);
const REDIS_SCHEMES = new Map([
  ['redis', { tls: false, cluster: false }],
  ['rediss', { tls: true, cluster: false }],
  ['redis+cluster', { tls: false, cluster: true }],
  ['rediss+cluster', { tls: true, cluster: true }],
]);

function bad(target: unknown, why: string): DispatcherError {
  return new DispatcherError(
    DispatcherErrorCodes.INVALID_ARGUMENT,
    `dispatcher target ${JSON.stringify(target)}: ${why}. Expected tcp://host:port (a beyod dispatcher), ` +
      'several of them (a list, or comma-separated), redis://[user:password@]host:port[/db][?prefix=app], ' +
      'or redis+cluster://host:port,host:port (Redis Cluster seeds)',
  );
}

/**
 * Read `target`: one or several URLs (an array, or comma-separated in one string; a part with
 * no scheme takes the previous part's). All parts must name the same kind of backend.
 */
export function parseTarget(target: string | string[]): Backend {
  const raw = Array.isArray(target) ? target.flatMap((t) => String(t).split(',')) : typeof target === 'string' ? target.split(',') : [];
  const parts: Array<{ scheme: string; rest: string }> = [];
  let scheme = '';
  for (const piece of raw.map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(piece);
    if (m) scheme = m[1]!.toLowerCase();
    if (scheme === '') throw bad(target, `${JSON.stringify(piece)} has no scheme`);
    parts.push({ scheme, rest: m ? m[2]! : piece });
  }
  if (parts.length === 0) throw bad(target, 'no target given');
  const schemes = new Set(parts.map((p) => p.scheme));
  const first = parts[0]!.scheme;
  if (DISPATCHER_SCHEMES.has(first)) {
    for (const s of schemes) if (!DISPATCHER_SCHEMES.has(s)) throw bad(target, 'beyod dispatchers and Redis cannot be mixed');
    const urls = parts.map((p) => `${p.scheme}://${p.rest}`);
    if (new Set(urls).size !== urls.length) throw bad(target, 'a dispatcher is listed twice');
    return urls.length === 1 ? { kind: 'dispatcher', url: urls[0]! } : { kind: 'sharded', urls };
  }
  const kind = REDIS_SCHEMES.get(first);
  if (kind === undefined) throw bad(target, `unknown scheme ${first}://`);
  if (schemes.size > 1) throw bad(target, 'all parts must use the same scheme');
  if (!kind.cluster && parts.length > 1)
    throw bad(target, 'several redis:// servers: for a Redis Cluster use redis+cluster://host:port,host:port');
  const redis: RedisTarget = { urls: [] };
  for (const p of parts) {
    let url: URL;
    try {
      url = new URL(`redis://${p.rest}`);
    } catch {
      throw bad(target, `${JSON.stringify(p.rest)} is not host:port`);
    }
    if (url.hostname === '') throw bad(target, `${JSON.stringify(p.rest)} has no host`);
    const port = url.port === '' ? 6379 : Number(url.port);
    redis.urls.push(`${kind.tls ? 'tls' : 'tcp'}://${url.hostname}:${port}`);
    if (url.username !== '') redis.username = decodeURIComponent(url.username);
    if (url.password !== '') redis.password = decodeURIComponent(url.password);
    const db = url.pathname.replace(/^\/+|\/+$/g, '');
    if (db !== '') {
      if (kind.cluster) throw bad(target, 'a Redis Cluster has only database 0');
      if (!/^\d+$/.test(db)) throw bad(target, `database ${JSON.stringify(db)} is not a number`);
      redis.db = Number(db);
    }
    const prefix = url.searchParams.get('prefix');
    if (prefix !== null) redis.prefix = prefix;
  }
  return kind.cluster ? { kind: 'cluster', redis } : { kind: 'redis', redis };
}
