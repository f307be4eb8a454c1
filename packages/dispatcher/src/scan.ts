/*
 * A validating JSON scanner over bytes, for the dispatcher's requests. It checks the whole body
 * (RFC 8259 grammar, UTF-8 included) without building objects, and reports where each
 * top-level member's value lies, so the server reads only the fields a command needs and passes
 * a published value on as the bytes it came in — no JSON.parse and JSON.stringify per message.
 *
 * It is iterative (an explicit stack, never recursion), so a body nested 100,000 levels deep is
 * measured, not a stack overflow, and the nesting depth is checked as it goes.
 */

/** JSON types of a scanned value. */
export const T_NONE = 0;
export const T_STRING = 1;
export const T_NUMBER = 2;
export const T_TRUE = 3;
export const T_FALSE = 4;
export const T_NULL = 5;
export const T_OBJECT = 6;
export const T_ARRAY = 7;

/** Flags of a scanned value. */
/** A string with at least one backslash escape (its text is not its bytes). */
export const F_ESCAPED = 1;
/** A number with a fraction or an exponent. */
export const F_NOT_INT = 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;

/** What the last scan found: set by scanValue() and the functions it calls (no allocation per value). */
export const scanned = {
  type: T_NONE,
  flags: 0,
  /** Deepest nesting seen by the last scanValue(), in containers. */
  depth: 0,
  /** Why the last scan failed, and where (a byte offset in the buffer). */
  error: '',
  at: 0,
};

const TYPE_NAMES = ['nothing', 'a string', 'a number', 'true', 'false', 'null', 'an object', 'an array'];

/** "a string", "an array"... for messages. */
export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? 'a value';
}

function fail(at: number, why: string): number {
  scanned.error = why;
  scanned.at = at;
  return -1;
}

function describeByte(c: number | undefined): string {
  if (c === undefined) return 'the end of the body';
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** The first non-whitespace offset at or after `i` (JSON whitespace: space, tab, CR, LF). */
export function skipSpace(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Length of the well-formed UTF-8 sequence starting with a byte >= 0x80 at `i`, or 0. */
function utf8Sequence(b: Buffer, i: number, end: number): number {
  const c = b[i] as number;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0)
      lo = 0xa0; // overlong
    else if (c === 0xed) hi = 0x9f; // UTF-16 surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0)
      lo = 0x90; // overlong
    else if (c === 0xf4) hi = 0x8f; // beyond U+10FFFF
  } else return 0;
  if (i + n > end) return 0;
  const c1 = b[i + 1] as number;
  if (c1 < lo || c1 > hi) return 0;
  for (let k = 2; k < n; k++) {
    const ck = b[i + k] as number;
    if (ck < 0x80 || ck > 0xbf) return 0;
  }
  return n;
}

/** 1 for the bytes a string may hold as they are: printable ASCII but `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;

/** A string starting at the quote at `i`; returns the offset after its closing quote, or -1. */
export function scanString(b: Buffer, i: number, end: number): number {
  let flags = 0;
  const start = i;
  i++;
  while (i < end) {
    // the common run of plain bytes: one table load per byte
    while (i < end && PLAIN[b[i] as number] === 1) i++;
    if (i >= end) break;
    const c = b[i] as number;
    if (c === QUOTE) {
      scanned.type = T_STRING;
      scanned.flags = flags;
      return i + 1;
    }
    if (c === BACKSLASH) {
      flags |= F_ESCAPED;
      const e = b[i + 1];
      if (e === 0x75) {
        if (!(isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5]))) return fail(i, 'a \\u escape needs 4 hex digits');
        i += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else {
        return fail(i, `bad escape \\${e === undefined ? '' : String.fromCharCode(e)} in a string`);
      }
      continue;
    }
    if (c < 0x20) return fail(i, 'a control character in a string (escape it)');
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = utf8Sequence(b, i, end);
    if (n === 0) return fail(i, 'invalid UTF-8 in a string');
    i += n;
  }
  return fail(start, 'an unterminated string');
}

/** A number starting at `i`; returns the offset after it, or -1. */
function scanNumber(b: Buffer, i: number, end: number): number {
  let flags = 0;
  const start = i;
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) {
    i++;
    while (i < end && isDigit(b[i])) i++;
  } else return fail(start, 'a malformed number');
  if (i < end && b[i] === 0x2e) {
    flags |= F_NOT_INT;
    i++;
    if (!(i < end && isDigit(b[i]))) return fail(start, 'a malformed number');
    while (i < end && isDigit(b[i])) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    flags |= F_NOT_INT;
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === MINUS)) i++;
    if (!(i < end && isDigit(b[i]))) return fail(start, 'a malformed number');
    while (i < end && isDigit(b[i])) i++;
  }
  scanned.type = T_NUMBER;
  scanned.flags = flags;
  return i;
}

function scanLiteral(b: Buffer, i: number, end: number, word: string, type: number): number {
  const n = word.length;
  if (i + n > end) return fail(i, `unexpected ${describeByte(b[i])}`);
  for (let k = 0; k < n; k++) if (b[i + k] !== word.charCodeAt(k)) return fail(i, `unexpected ${describeByte(b[i])}`);
  scanned.type = type;
  scanned.flags = 0;
  return i + n;
}

/** Open containers of the value being scanned: 1 = object, 0 = array. Grows with the depth. */
let stack = new Uint8Array(64);

// states of the container loop
const AFTER_OPEN = 0;
const NEED_NAME = 1;
const NEED_VALUE = 2;
const AFTER_VALUE = 3;

/**
 * One JSON value starting at `i` (no leading whitespace). Returns the offset after it, or -1
 * with scanned.error set. `scanned.type` is its type, and `scanned.depth` how deep it nests
 * (0 for a scalar, 1 for `[]`...). Containers are checked to the end, however deep: the caller
 * decides what depth is too deep (so it can still read the fields after a too deep one).
 */
export function scanValue(b: Buffer, i: number, end: number): number {
  if (i >= end) return fail(i, 'unexpected end of the body');
  const c = b[i] as number;
  scanned.depth = 0;
  if (c === QUOTE) return scanString(b, i, end);
  if (c === LBRACE || c === LBRACKET) return scanContainer(b, i, end);
  if (c === MINUS || isDigit(c)) return scanNumber(b, i, end);
  if (c === 0x74) return scanLiteral(b, i, end, 'true', T_TRUE);
  if (c === 0x66) return scanLiteral(b, i, end, 'false', T_FALSE);
  if (c === 0x6e) return scanLiteral(b, i, end, 'null', T_NULL);
  return fail(i, `unexpected ${describeByte(c)}`);
}

function scanContainer(b: Buffer, i: number, end: number): number {
  const type = b[i] === LBRACE ? T_OBJECT : T_ARRAY;
  let sp = 0;
  let deepest = 0;
  let state = NEED_VALUE;
  for (;;) {
    i = skipSpace(b, i, end);
    if (i >= end) return fail(i, 'unexpected end of the body');
    const c = b[i] as number;
    switch (state) {
      case NEED_VALUE:
        if (c === LBRACE || c === LBRACKET) {
          if (sp === stack.length) {
            const bigger = new Uint8Array(stack.length * 2);
            bigger.set(stack);
            stack = bigger;
          }
          stack[sp++] = c === LBRACE ? 1 : 0;
          if (sp > deepest) deepest = sp;
          i++;
          state = AFTER_OPEN;
          continue;
        }
        i = c === QUOTE ? scanString(b, i, end) : scanValue(b, i, end);
        if (i < 0) return -1;
        state = AFTER_VALUE;
        continue;
      case AFTER_OPEN:
        if (c === (stack[sp - 1] === 1 ? RBRACE : RBRACKET)) {
          sp--;
          i++;
          if (sp === 0) break;
          state = AFTER_VALUE;
          continue;
        }
        state = stack[sp - 1] === 1 ? NEED_NAME : NEED_VALUE;
        continue;
      case NEED_NAME:
        if (c !== QUOTE) return fail(i, `expected a member name, got ${describeByte(c)}`);
        i = scanString(b, i, end);
        if (i < 0) return -1;
        i = skipSpace(b, i, end);
        if (b[i] !== COLON) return fail(i, `expected ':', got ${describeByte(b[i])}`);
        i++;
        state = NEED_VALUE;
        continue;
      default: {
        // AFTER_VALUE
        const isObject = stack[sp - 1] === 1;
        if (c === COMMA) {
          i++;
          state = isObject ? NEED_NAME : NEED_VALUE;
          continue;
        }
        if (c === (isObject ? RBRACE : RBRACKET)) {
          sp--;
          i++;
          if (sp === 0) break;
          continue;
        }
        return fail(i, `expected ',' or '${isObject ? '}' : ']'}', got ${describeByte(c)}`);
      }
    }
    break;
  }
  scanned.type = type;
  scanned.flags = 0;
  scanned.depth = deepest;
  return i;
}

/** The member names the dispatcher reads; any other member is checked and skipped. */
export const FIELDS = ['command', 'key', 'value', 'seq', 'expire', 'priority', 'block', 'timeout', 'loop', 'cursor', 'count'] as const;
export type Field = (typeof FIELDS)[number];
const FIELD_BYTES = FIELDS.map((f) => Buffer.from(f, 'latin1'));

/** The index in FIELDS of the name in b[s, e) (unescaped bytes), or -1. */
export function fieldIndex(b: Buffer, s: number, e: number): number {
  const n = e - s;
  for (let f = 0; f < FIELD_BYTES.length; f++) {
    const name = FIELD_BYTES[f] as Buffer;
    if (name.length !== n || name[0] !== b[s]) continue;
    let k = 1;
    while (k < n && name[k] === b[s + k]) k++;
    if (k === n) return f;
  }
  return -1;
}

/** Per first byte of a member name: the FIELDS starting with it (most have none). */
const BY_FIRST: Array<readonly number[] | undefined> = new Array<readonly number[] | undefined>(256).fill(undefined);
FIELD_BYTES.forEach((name, f) => {
  const c = name[0] as number;
  BY_FIRST[c] = [...(BY_FIRST[c] ?? []), f];
});

/**
 * The member name starting with the quote at `i` when it is one of FIELDS written plainly
 * (`"key"`): its index in FIELDS, and the offset after its closing quote in `scanned.at`. -1
 * for any other name (then scan it with scanString). A known name needs no validation: its
 * bytes are the field's own.
 */
export function knownField(b: Buffer, i: number, end: number): number {
  const list = BY_FIRST[b[i + 1] as number];
  if (list === undefined) return -1;
  for (let k = 0; k < list.length; k++) {
    const f = list[k] as number;
    const name = FIELD_BYTES[f] as Buffer;
    const n = name.length;
    const close = i + 1 + n;
    if (close >= end || b[close] !== QUOTE) continue;
    let j = 1;
    while (j < n && name[j] === b[i + 1 + j]) j++;
    if (j === n) {
      scanned.at = close + 1;
      return f;
    }
  }
  return -1;
}
