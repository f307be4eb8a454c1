import {
  F_ESCAPED,
  F_NOT_INT,
  FIELDS,
  type Field,
  T_NONE,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
  fieldIndex,
  knownField,
  scanString,
  scanValue,
  scanned,
  skipSpace,
  typeName,
} from './scan';

/**
 * A frame whose body is not a JSON object. The framing is intact, so the connection can go on:
 * the dispatcher answers it with error 760 instead of closing.
 */
export class BadBody {
  constructor(readonly reason: string) {}
}

/** Buffer's own slicers: the public toString() checks its arguments on every call. */
interface Slicers {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/** The UTF-8 text of b[s, e) (the scanner has checked it is well-formed). */
export function utf8(b: Buffer, s: number, e: number): string {
  return (b as unknown as Slicers).utf8Slice(s, e);
}

/** The command names the server knows, as bytes: a request's command is matched without a string. */
let commandNames: readonly string[] = [];
let commandBytes: readonly Buffer[] = [];

/** @internal Set the command names matched by bytes (wire.ts gives its COMMANDS). */
export function setCommandNames(names: readonly string[]): void {
  commandNames = names;
  commandBytes = names.map((n) => Buffer.from(n, 'latin1'));
  commandsByFirst = new Array<number[] | undefined>(256).fill(undefined);
  commandBytes.forEach((name, k) => (commandsByFirst[name[0] as number] ??= []).push(k));
}

/** Per first byte: the indexes of the command names starting with it. */
let commandsByFirst: Array<number[] | undefined> = [];

/**
 * The known command written plainly from the quote at `q` (`"set"`): the offset after its
 * closing quote, its name left in `matchedCommand`. 0 otherwise.
 */
let matchedCommand = '';

function commandInPlace(b: Buffer, q: number, end: number): number {
  const list = commandsByFirst[b[q + 1] as number];
  if (list === undefined) return 0;
  for (let k = 0; k < list.length; k++) {
    const name = commandBytes[list[k] as number] as Buffer;
    const n = name.length;
    const close = q + 1 + n;
    if (close >= end || b[close] !== 0x22) continue;
    let j = 1;
    while (j < n && name[j] === b[q + 1 + j]) j++;
    if (j === n) {
      matchedCommand = commandNames[list[k] as number] as string;
      return close + 1;
    }
  }
  return 0;
}

/** The known command whose name is b[s, e) (plain bytes), or undefined. */
function commandAt(b: Buffer, s: number, e: number): string | undefined {
  const list = commandsByFirst[b[s] as number];
  if (list === undefined) return undefined;
  const n = e - s;
  for (let k = 0; k < list.length; k++) {
    const name = commandBytes[list[k] as number] as Buffer;
    if (name.length !== n) continue;
    let j = 1;
    while (j < n && name[j] === b[s + j]) j++;
    if (j === n) return commandNames[list[k] as number];
  }
  return undefined;
}

/** Field numbers: the index of each member name in FIELDS. */
export const F = {
  command: 0,
  key: 1,
  value: 2,
  seq: 3,
  expire: 4,
  priority: 5,
  block: 6,
  timeout: 7,
  loop: 8,
  cursor: 9,
  count: 10,
} as const satisfies { [K in Field]: number };

/** Per field: type, start, end, flags. */
const SLOTS = 4;
const EMPTY_SPANS: number[] = new Array<number>(FIELDS.length * SLOTS).fill(0);

/**
 * A request as the dispatcher Parser read it: the bytes of the frame, and where the value of
 * each member the dispatcher knows (`command`, `key`, `value`, `seq`, ...) lies in them. Fields
 * are decoded only when a command reads them; a published value is passed on as its bytes.
 *
 * Valid while the handler runs (it points into the connection's receive buffer): whatever must
 * outlive the request is copied out as a string.
 */
export class Request {
  /** The command name when `command` is a string (undefined otherwise). */
  command: string | undefined = undefined;
  /** Set when a member nests deeper than the parser's maxDepth: answered with 760. */
  tooDeep = '';
  /** The key's name once singleKeyName() read it (a cache: it is needed twice). */
  keyName: string | undefined = undefined;
  /** type, start, end, flags of each field (type 0: absent). */
  private readonly spans = EMPTY_SPANS.slice();

  constructor(
    /** The buffer holding the frame. */
    public buf: Buffer,
  ) {}

  /** @internal Forget the fields (for its next use, see recycle()). */
  reset(): void {
    this.command = undefined;
    this.tooDeep = '';
    this.keyName = undefined;
    const sp = this.spans;
    for (let i = 0; i < sp.length; i += SLOTS) sp[i] = T_NONE;
  }

  /** @internal */
  setField(f: number, type: number, start: number, end: number, flags: number): void {
    const i = f * SLOTS;
    const sp = this.spans;
    sp[i] = type;
    sp[i + 1] = start;
    sp[i + 2] = end;
    sp[i + 3] = flags;
  }

  /** The JSON type of field `f` (T_NONE when absent). */
  type(f: number): number {
    return this.spans[f * SLOTS] as number;
  }

  start(f: number): number {
    return this.spans[f * SLOTS + 1] as number;
  }

  end(f: number): number {
    return this.spans[f * SLOTS + 2] as number;
  }

  flags(f: number): number {
    return this.spans[f * SLOTS + 3] as number;
  }

  /** Present and not null. */
  has(f: number): boolean {
    const t = this.spans[f * SLOTS] as number;
    return t !== T_NONE && t !== 5; /* T_NULL */
  }

  /** The key's JSON text as it came (from the cached name when it is a plain string). */
  keyText(): string {
    const name = this.keyName;
    const f = 1; // F.key
    if (name !== undefined && this.type(f) === T_STRING && (this.flags(f) & F_ESCAPED) === 0) return `"${name}"`;
    return this.raw(f);
  }

  /** The JSON text of field `f` as it came ('null' when absent). */
  raw(f: number): string {
    const i = f * SLOTS;
    const sp = this.spans;
    return sp[i] === T_NONE ? 'null' : utf8(this.buf, sp[i + 1] as number, sp[i + 2] as number);
  }

  /** Bytes of the JSON text of field `f`. */
  rawLength(f: number): number {
    return this.end(f) - this.start(f);
  }

  /** The decoded value of field `f` (undefined when absent). */
  value(f: number): unknown {
    const i = f * SLOTS;
    const sp = this.spans;
    const t = sp[i];
    if (t === T_NONE) return undefined;
    const s = sp[i + 1] as number;
    const e = sp[i + 2] as number;
    if (t === T_STRING && ((sp[i + 3] as number) & F_ESCAPED) === 0) return utf8(this.buf, s + 1, e - 1);
    if (t === T_NUMBER) return Number((this.buf as unknown as Slicers).latin1Slice(s, e));
    return JSON.parse(utf8(this.buf, s, e)) as unknown;
  }

  /** A string field's text (the caller checked its type). */
  string(f: number): string {
    return this.value(f) as string;
  }

  /** A number field's value (the caller checked its type). */
  number(f: number): number {
    const i = f * SLOTS;
    return Number((this.buf as unknown as Slicers).latin1Slice(this.spans[i + 1] as number, this.spans[i + 2] as number));
  }

  /** A number field without fraction nor exponent. */
  isInteger(f: number): boolean {
    return this.type(f) === T_NUMBER && (this.flags(f) & F_NOT_INT) === 0;
  }

  /** The request as a plain object (for tests and logs; the server never needs it). */
  toObject(): Record<string, unknown> {
    return JSON.parse(utf8(this.buf, this.bodyStart, this.bodyEnd)) as Record<string, unknown>;
  }

  /** @internal where the JSON body lies in `buf`. */
  bodyStart = 0;
  bodyEnd = 0;
}

/** A handled request, kept for the next scanRequest() (one object per request less). */
let spare: Request | undefined;

/**
 * @internal The handler is done with `req` (nothing refers to it any more): the next request
 * scanned reuses it. A request never given back is simply collected.
 */
export function recycle(req: Request): void {
  req.reset();
  req.buf = EMPTY_BUFFER;
  spare = req;
}

const EMPTY_BUFFER = Buffer.alloc(0);

/**
 * Scan the JSON body b[start, end): a Request when it is a JSON object (with `tooDeep` set
 * when it nests deeper than maxDepth, 0 = no limit), or a BadBody saying why not.
 */
export function scanRequest(b: Buffer, start: number, end: number, maxDepth: number): Request | BadBody {
  let i = skipSpace(b, start, end);
  if (i >= end) return new BadBody('the body is not JSON (it is empty)');
  if (b[i] !== 0x7b) {
    const j = scanValue(b, i, end);
    if (j < 0) return notJson(start);
    if (skipSpace(b, j, end) !== end) return new BadBody(`the body is not JSON (data after the value at offset ${j - start})`);
    return new BadBody(`the body must be a JSON object, got ${typeName(scanned.type)}`);
  }
  let req = spare;
  if (req === undefined) req = new Request(b);
  else {
    spare = undefined;
    req.buf = b;
  }
  req.bodyStart = start;
  req.bodyEnd = end;
  i = skipSpace(b, i + 1, end);
  if (b[i] === 0x7d) i++;
  else {
    for (;;) {
      if (b[i] !== 0x22) return bad(start, i, `expected a member name`);
      let f = knownField(b, i, end);
      if (f >= 0) i = scanned.at;
      else {
        const nameStart = i;
        i = scanString(b, i, end);
        if (i < 0) return notJson(start);
        f = scanned.flags & F_ESCAPED ? FIELDS.indexOf(JSON.parse(utf8(b, nameStart, i)) as Field) : fieldIndex(b, nameStart + 1, i - 1);
      }
      i = skipSpace(b, i, end);
      if (b[i] !== 0x3a) return bad(start, i, `expected ':'`);
      i = skipSpace(b, i + 1, end);
      const valueStart = i;
      if (f === F.command && b[i] === 0x22 && (i = commandInPlace(b, valueStart, end)) > 0) {
        // `"set"`: a known command's bytes, checked by the match (no scan, no string)
        req.setField(f, T_STRING, valueStart, i, 0);
        req.command = matchedCommand;
      } else {
        i = scanValue(b, valueStart, end);
        if (i < 0) return notJson(start);
        if (maxDepth > 0 && scanned.depth > maxDepth && req.tooDeep === '') {
          req.tooDeep = `a value nests ${scanned.depth} levels deep; the limit is maxDepth ${maxDepth}`;
        }
        if (f >= 0) {
          req.setField(f, scanned.type, valueStart, i, scanned.flags);
          if (f === F.command) {
            req.command =
              scanned.type !== T_STRING
                ? undefined
                : (((scanned.flags & F_ESCAPED) === 0 ? commandAt(b, valueStart + 1, i - 1) : undefined) ?? (req.value(f) as string));
          }
        }
      }
      i = skipSpace(b, i, end);
      if (b[i] === 0x2c) {
        i = skipSpace(b, i + 1, end);
        continue;
      }
      if (b[i] === 0x7d) {
        i++;
        break;
      }
      return bad(start, i, `expected ',' or '}'`);
    }
  }
  if (skipSpace(b, i, end) !== end) return new BadBody(`the body is not JSON (data after the object at offset ${i - start})`);
  return req;
}

function notJson(start: number): BadBody {
  return new BadBody(`the body is not JSON (${scanned.error} at offset ${scanned.at - start})`);
}

function bad(start: number, at: number, why: string): BadBody {
  return new BadBody(`the body is not JSON (${why} at offset ${at - start})`);
}

export { T_NUMBER, T_OBJECT, T_STRING };
