import { latin1Slice } from '@beyod/core/internal';
import { HeaderMap } from './HeaderMap';
import { type RequestHead, completeHead } from './head';

/**
 * The common request head, parsed in one pass over its bytes from `start` up to its blank line,
 * which must come before `stop`: origin-form target, HTTP/1.0 or 1.1, well-formed header lines.
 * It accepts exactly what parseHead's general path accepts (the head found by searching for
 * CRLFCRLF), and gives the same result — a property test compares them; anything else (another
 * target form, a malformed line, a bare CR or LF, an IP-literal Host) or a head not complete
 * before `stop` gives undefined, and the general path decides, and words the refusal.
 * Profiled under wrk, the general path (a search for the end, then a string per line and a
 * regular expression per name and value) was a fifth of a "hello world" request's JavaScript.
 * Throws HeadError as parseHead does for a head it read whole (no Host, bad framing).
 */
export function parseHeadFast(buf: Buffer, start: number, stop: number): RequestHead | undefined {
  // request line: method SP origin-form-target SP HTTP/1.x CRLF
  let i = start;
  while (i < stop && TCHAR[buf[i]!] === 1) i++;
  if (i === start || i >= stop || buf[i] !== SP) return undefined;
  const method = methodName(buf, start, i);
  const t0 = ++i;
  if (i >= stop || buf[i] !== SLASH) return undefined;
  while (i < stop && TARGET[buf[i]!] === 1) i++;
  if (i >= stop || buf[i] !== SP) return undefined;
  const target = latin1Slice(buf, t0, i);
  i++;
  if (
    stop - i < 10 ||
    buf[i] !== 0x48 || // H
    buf[i + 1] !== 0x54 || // T
    buf[i + 2] !== 0x54 || // T
    buf[i + 3] !== 0x50 || // P
    buf[i + 4] !== SLASH ||
    buf[i + 5] !== 0x31 || // 1
    buf[i + 6] !== DOT ||
    (buf[i + 7] !== 0x31 && buf[i + 7] !== 0x30) ||
    buf[i + 8] !== CR ||
    buf[i + 9] !== LF
  )
    return undefined;
  const minor = buf[i + 7]! - 0x30;
  i += 10;

  const headers = new HeaderMap();
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let hosts = 0;
  for (;;) {
    if (i >= stop) return undefined;
    if (buf[i] === CR) {
      // the blank line that ends the head
      if (i + 1 >= stop || buf[i + 1] !== LF) return undefined;
      i += 2;
      break;
    }
    const n0 = i;
    while (i < stop && TCHAR[buf[i]!] === 1) i++;
    if (i === n0 || i >= stop || buf[i] !== COLON) return undefined;
    const lower = headerName(buf, n0, i);
    i++;
    while (i < stop && (buf[i] === SP || buf[i] === HTAB)) i++;
    const v0 = i;
    let v1 = i; // end of the value without its trailing whitespace
    for (; i < stop; i++) {
      const c = buf[i]!;
      if (FIELD[c] !== 1) break;
      if (c !== SP && c !== HTAB) v1 = i + 1;
    }
    if (i + 1 >= stop || buf[i] !== CR || buf[i + 1] !== LF) return undefined;
    i += 2;
    if (lower === 'content-length') {
      const n = digits(buf, v0, v1);
      if (n < 0 || (contentLength >= 0 && contentLength !== n)) return undefined;
      contentLength = n;
      if (!headers.has(lower)) headers._add(lower, latin1Slice(buf, v0, v1));
      continue;
    }
    const value = latin1Slice(buf, v0, v1);
    if (lower === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    } else if (lower === 'host') {
      if (++hosts > 1 || !isHost(buf, v0, v1)) return undefined;
    }
    headers._add(lower, value);
  }
  return completeHead(method, target, 0, undefined, minor, headers, i, contentLength, transferEncoding);
}

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SLASH = 0x2f;
const DOT = 0x2e;

/** tchar of RFC 9110 5.6.2 (method and header names). */
const TCHAR = new Uint8Array(256);
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
/** Request target bytes: visible ASCII and obs-text (head.ts's TARGET). */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0xff; c++) TARGET[c] = c === 0x7f ? 0 : 1;
/** Field value bytes: HTAB, SP, visible ASCII, obs-text (no CTL; head.ts's BAD_VALUE). */
const FIELD = new Uint8Array(256);
FIELD[HTAB] = 1;
for (let c = 0x20; c <= 0xff; c++) FIELD[c] = c === 0x7f ? 0 : 1;
/** reg-name / IPv4 characters of a Host (head.ts's HOST, without the IP-literal form). */
const HOSTCHAR = new Uint8Array(256);
for (const ch of "-._~!$&'()*+,;=%") HOSTCHAR[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) HOSTCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOSTCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOSTCHAR[c] = 1;

/** host [":" port], host made of HOSTCHAR (maybe empty), port digits (maybe none). */
function isHost(buf: Buffer, a: number, b: number): boolean {
  let i = a;
  while (i < b && HOSTCHAR[buf[i]!] === 1) i++;
  if (i === b) return true;
  if (buf[i] !== COLON) return false;
  for (i++; i < b; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/** 1 to 15 decimal digits as a number, else -1. */
function digits(buf: Buffer, a: number, b: number): number {
  if (b <= a || b - a > 15) return -1;
  let n = 0;
  for (let i = a; i < b; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const METHODS = ['GET', 'PUT', 'POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'];
/** The method as a string: the common ones without allocating one. */
function methodName(buf: Buffer, a: number, b: number): string {
  for (const m of METHODS) if (m.length === b - a && same(buf, a, m, false)) return m;
  return latin1Slice(buf, a, b);
}

/** Header names clients send most, lower-cased: matched without making a string. */
const NAMES: string[][] = [];
for (const name of [
  'host',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'upgrade',
  'expect',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'cookie',
  'origin',
  'referer',
  'cache-control',
  'pragma',
  'authorization',
  'if-none-match',
  'if-modified-since',
  'range',
  'x-forwarded-for',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
])
  (NAMES[name.length] ??= []).push(name);

/** The lower-cased name of buf[a, b) (tchar only). */
function headerName(buf: Buffer, a: number, b: number): string {
  const known = NAMES[b - a];
  if (known !== undefined) for (const n of known) if (same(buf, a, n, true)) return n;
  return latin1Slice(buf, a, b).toLowerCase();
}

/**
 * Whether buf from `a` holds `s` (ASCII letters, digits and '-'); `fold`: any case of the
 * letters. Only called on tchar bytes, among which `| 0x20` folds exactly A-Z onto a-z and
 * leaves digits and '-' as they are.
 */
function same(buf: Buffer, a: number, s: string, fold: boolean): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = buf[a + k]!;
    if ((fold ? c | 0x20 : c) !== s.charCodeAt(k)) return false;
  }
  return true;
}
