/*
 * Answers and deliveries, built as text (answers) or bytes (deliveries) from pieces that are
 * already valid JSON: the raw text of the request's fields, stored values (kept as JSON text),
 * numbers. Nothing here calls JSON.stringify on a value a client sent, so an answer can always
 * be encoded, and a published value is copied, never re-serialized.
 */
import type { Request } from './Request';

/** `{"command":"<command>","key":` for every command (the command names are plain ASCII). */
const HEADS = new Map<string, string>();

/**
 * The start of a success answer: `{"command":C,"key":K,"code":0,"message":"ok","seq":S`, to be
 * followed by the command's own fields and `}`. K is the request's key as it came (null when
 * absent).
 */
export function okHead(req: Request, command: string, seq: string): string {
  let h = HEADS.get(command);
  if (h === undefined) {
    h = `{"command":${JSON.stringify(command)},"key":`;
    HEADS.set(command, h);
  }
  return `${h}${req.keyText()},"code":0,"message":"ok","seq":${seq}`;
}

/** The same with a key given as JSON text (subscribe answers the list of its keys). */
export function okHeadWithKey(command: string, keyJson: string, seq: string): string {
  return `{"command":${JSON.stringify(command)},"key":${keyJson},"code":0,"message":"ok","seq":${seq}`;
}

/** An error answer; `seq` is JSON text or undefined (then null). */
export function errorText(code: number, message: string, seq: string | undefined, extra: Record<string, unknown> | undefined): string {
  let s = `{"command":"error","code":${code},"message":${JSON.stringify(message)},"seq":${seq ?? 'null'}`;
  if (extra !== undefined) for (const k of Object.keys(extra)) s += `,${JSON.stringify(k)}:${JSON.stringify(extra[k]) ?? 'null'}`;
  return `${s}}`;
}

const HEADER_SIZE = 4;
const MESSAGE_HEAD = Buffer.from('{"command":"message","key":');
const VALUE_FIELD = Buffer.from(',"value":');
const BROADCAST_HEAD = Buffer.from('{"command":"broadcast","value":');

/** `,"source":"ip:port"}`: the end of every delivery from one publisher (made once per connection). */
export function sourceTail(peer: string): Buffer {
  return Buffer.from(`,"source":${JSON.stringify(peer)}}`);
}

/*
 * Copies: Buffer#copy with offsets checks its arguments (about 130 ns a call here, whatever the
 * size); TypedArray#set of a whole constant is a builtin (about 25 ns). A delivery is made of
 * two constants and one range of the request, so only that range goes through copy().
 */
function put(src: Buffer, s: number, e: number, out: Buffer, o: number): number {
  src.copy(out, o, s, e);
  return o + (e - s);
}

function putAll(src: Buffer, out: Buffer, o: number): number {
  out.set(src, o);
  return o + src.length;
}

function putUInt32BE(out: Buffer, v: number, o: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

/** True when b[at, at + VALUE_FIELD.length) is `,"value":`. */
function isValueField(b: Buffer, at: number): boolean {
  const f = VALUE_FIELD;
  for (let k = 0; k < f.length; k++) if (b[at + k] !== f[k]) return false;
  return true;
}

/** Bytes of a message frame whose key and value texts are `keyBytes` and `valueBytes` long. */
export function messageLength(keyBytes: number, valueBytes: number, tail: Buffer): number {
  return HEADER_SIZE + MESSAGE_HEAD.length + keyBytes + VALUE_FIELD.length + valueBytes + tail.length;
}

/**
 * Write the whole delivery frame `{"command":"message","key":K,"value":V,"source":...}` at
 * out[o] (room checked by the caller), with K and V the bytes kb[ks, ke) and vb[vs, ve) (JSON
 * texts); returns the offset after it.
 */
export function writeMessage(
  out: Buffer,
  o: number,
  kb: Buffer,
  ks: number,
  ke: number,
  vb: Buffer,
  vs: number,
  ve: number,
  tail: Buffer,
): number {
  const n = messageLength(ke - ks, ve - vs, tail);
  putUInt32BE(out, n, o);
  let p = putAll(MESSAGE_HEAD, out, o + HEADER_SIZE);
  if (kb === vb && vs - ke === VALUE_FIELD.length && isValueField(kb, ke)) {
    // the request reads `"key":K,"value":V` (what most clients send): one copy instead of three
    p = put(kb, ks, ve, out, p);
  } else {
    p = put(kb, ks, ke, out, p);
    p = putAll(VALUE_FIELD, out, p);
    p = put(vb, vs, ve, out, p);
  }
  return putAll(tail, out, p);
}

/** `{"command":"broadcast","value":V,"source":...}` as a whole frame. */
export function broadcastFrame(vb: Buffer, vs: number, ve: number, tail: Buffer): Buffer {
  const n = HEADER_SIZE + BROADCAST_HEAD.length + (ve - vs) + tail.length;
  const out = Buffer.allocUnsafe(n);
  putUInt32BE(out, n, 0);
  let o = putAll(BROADCAST_HEAD, out, HEADER_SIZE);
  o = put(vb, vs, ve, out, o);
  putAll(tail, out, o);
  return out;
}
