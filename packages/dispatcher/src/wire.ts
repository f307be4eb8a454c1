import { WireCodes } from './errors';
import type { Packet } from './Parser';
import type { Key } from './store/ChannelStore';

/** A request the dispatcher refuses: becomes `{"command":"error","code":code,...}`. */
export class WireError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Extra fields for the error packet (e.g. `limit`). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Every command the dispatcher answers (`broadcat` is the seed client's spelling of broadcast). */
export const COMMANDS = [
  'subscribe',
  'unsubscribe',
  'publish',
  'broadcast',
  'broadcat',
  'channels',
  'set',
  'get',
  'delete',
  'deleteall',
  'count',
  'qpush',
  'qpop',
  'qcount',
  'qdelete',
  'qdeleteall',
  'auth',
  'stats',
  'info',
] as const;

export type Command = (typeof COMMANDS)[number];

/** A key's identity: integers and their decimal string are the same key. */
export function keyName(key: Key): string {
  return typeof key === 'string' ? key : String(key);
}

export function isKey(v: unknown): v is Key {
  return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** The one key of a hash or queue command. */
export function singleKey(req: Packet): Key {
  const k = req.key;
  if (k === undefined || k === null) throw new WireError(WireCodes.NO_DATA, `${String(req.command)}: key is required`);
  if (!isKey(k)) throw new WireError(WireCodes.KEY_ERROR, `${String(req.command)}: key must be a string or an integer`);
  return k;
}

/** One key or a list of keys (subscribe, unsubscribe, publish); duplicates removed. */
export function keyList(req: Packet): Key[] {
  const k = req.key;
  if (k === undefined || k === null) throw new WireError(WireCodes.NO_DATA, `${String(req.command)}: key is required`);
  if (isKey(k)) return [k];
  if (!Array.isArray(k))
    throw new WireError(WireCodes.KEY_ERROR, `${String(req.command)}: key must be a string, an integer or a list of them`);
  const seen = new Set<string>();
  const out: Key[] = [];
  for (const item of k as unknown[]) {
    if (!isKey(item)) throw new WireError(WireCodes.KEY_ERROR, `${String(req.command)}: every key must be a string or an integer`);
    const name = keyName(item);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(item);
  }
  return out;
}

/** `value`, which must be present and not null. */
export function requiredValue(req: Packet): unknown {
  const v = req.value;
  if (v === undefined || v === null) throw new WireError(WireCodes.NO_DATA, `${String(req.command)}: value is required`);
  return v;
}

/** An optional finite number field (`expire`, `priority`, `timeout`). */
export function numberField(req: Packet, field: string, min = -Infinity): number {
  const v = req[field];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new WireError(
      WireCodes.DATA_ERROR,
      `${String(req.command)}: ${field} must be a ${min === 0 ? 'non-negative ' : ''}number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** `seq` as the request carried it, when it is usable (a string or a finite number). */
export function validSeq(seq: unknown): string | number | undefined {
  return typeof seq === 'string' || (typeof seq === 'number' && Number.isFinite(seq)) ? seq : undefined;
}
