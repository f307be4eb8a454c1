import { WireCodes } from './errors';
import { F, type Request, T_NUMBER, T_STRING, setCommandNames } from './Request';
import { F_NOT_INT, T_ARRAY, T_FALSE, T_NULL, T_TRUE, typeName } from './scan';
import type { Key } from './store/ChannelStore';

/**
 * Why a request is refused: becomes `{"command":"error","code":code,...}`. Checks RETURN it,
 * they do not throw it: a throw cost tens of microseconds here (V8 builds a message with a
 * source position for every throw), so a client sending requests that are refused got them
 * handled at a tenth of the cost to us of real work (measured: refused blocking pops ran at
 * 26k/s thrown, 70k/s returned).
 */
export class Refusal {
  constructor(
    readonly code: number,
    readonly message: string,
    /** Extra fields for the error packet (e.g. `limit`). */
    readonly extra?: Record<string, unknown>,
  ) {}
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

setCommandNames(COMMANDS);

/** A key's identity: integers and their decimal string are the same key. */
export function keyName(key: Key): string {
  return typeof key === 'string' ? key : String(key);
}

export function isKey(v: unknown): v is Key {
  return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
}

function noKey(req: Request): Refusal {
  return new Refusal(WireCodes.NO_DATA, `${String(req.command)}: key is required`);
}

/** The name of the one key of a hash or queue command (or of a publish to one key). */
export function singleKeyName(req: Request): string | Refusal {
  if (req.keyName !== undefined) return req.keyName;
  const t = req.type(F.key);
  if (t === T_STRING) return (req.keyName = req.string(F.key));
  if (t === T_NUMBER) {
    const n = req.number(F.key);
    if (Number.isSafeInteger(n)) return (req.keyName = String(n));
  } else if (!req.has(F.key)) return noKey(req);
  return new Refusal(WireCodes.KEY_ERROR, `${String(req.command)}: key must be a string or an integer`);
}

/** One key or a list of keys (subscribe, unsubscribe, publish); duplicates removed. */
export function keyList(req: Request): Key[] | Refusal {
  const t = req.type(F.key);
  if (t === T_STRING || t === T_NUMBER) {
    const k = req.value(F.key) as Key;
    if (isKey(k)) return [k];
  } else if (!req.has(F.key)) return noKey(req);
  if (t !== T_ARRAY) return new Refusal(WireCodes.KEY_ERROR, `${String(req.command)}: key must be a string, an integer or a list of them`);
  const seen = new Set<string>();
  const out: Key[] = [];
  for (const item of req.value(F.key) as unknown[]) {
    if (!isKey(item)) return new Refusal(WireCodes.KEY_ERROR, `${String(req.command)}: every key must be a string or an integer`);
    const name = keyName(item);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(item);
  }
  return out;
}

/** `value` must be present and not null: undefined when it is, the refusal otherwise. */
export function requireValue(req: Request): Refusal | undefined {
  return req.has(F.value) ? undefined : new Refusal(WireCodes.NO_DATA, `${String(req.command)}: value is required`);
}

/** An optional finite number field (`expire`, `priority`, `timeout`, `cursor`); 0 when absent. */
export function numberField(req: Request, f: number, name: string, min = -Infinity): number | Refusal {
  const t = req.type(f);
  if (t === 0 || t === T_NULL) return 0;
  const v = t === T_NUMBER ? req.number(f) : NaN;
  if (!Number.isFinite(v) || v < min) {
    const got =
      t === T_NUMBER ? req.raw(f) : t === T_STRING ? req.raw(f).slice(0, 40) : t === T_TRUE || t === T_FALSE ? req.raw(f) : typeName(t);
    return new Refusal(
      WireCodes.DATA_ERROR,
      `${String(req.command)}: ${name} must be a ${min === 0 ? 'non-negative ' : ''}number, got ${got}`,
    );
  }
  return v;
}

/** `seq` as JSON text, when it is usable (a string or a finite number); undefined otherwise. */
export function seqText(req: Request): string | undefined {
  const t = req.type(F.seq);
  if (t === T_STRING) return req.raw(F.seq);
  if (t === T_NUMBER && (req.flags(F.seq) & F_NOT_INT) === 0) {
    // a small non-negative integer (what clients send): its digits read here, and the text from
    // V8's number-to-string cache instead of a slice of the buffer (a native call)
    const s = req.start(F.seq);
    const e = req.end(F.seq);
    const b = req.buf;
    if (e - s <= 9 && b[s] !== 0x2d) {
      let v = 0;
      for (let i = s; i < e; i++) v = v * 10 + ((b[i] as number) - 0x30);
      return `${v}`;
    }
  }
  // an integer of up to 15 digits is finite without parsing it
  if (t === T_NUMBER && (req.flags(F.seq) & F_NOT_INT) === 0 && req.rawLength(F.seq) <= 15) return req.raw(F.seq);
  if (t === T_NUMBER && Number.isFinite(req.number(F.seq))) return req.raw(F.seq);
  return undefined;
}

/** True when field `f` is JSON `true`. */
export function isTrue(req: Request, f: number): boolean {
  return req.type(f) === T_TRUE;
}
