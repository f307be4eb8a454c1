import { HeaderMap } from './HeaderMap';

/** What the parser read from a request's head: request line and headers. */
export interface RequestHead {
  method: string;
  /** The request target as sent (e.g. "/a/b?x=1", or "http://host/a/b?x=1" in absolute-form). */
  target: string;
  /** Where the path (origin-form part) starts in `target`: after the authority of an absolute-form target, else 0. */
  pathStart: number;
  /** The authority of an absolute-form or authority-form target ("host:port"), else undefined. */
  authority: string | undefined;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  headers: HeaderMap;
  /** Bytes of the head, blank line (and any leading empty lines) included. */
  headLength: number;
  /** -1 when the request has no Content-Length. */
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  /** The lower-cased Upgrade header when Connection names "upgrade", else ''. */
  upgrade: string;
}

/** Thrown by parseHead: the status to answer with and why. */
export class HeadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// RFC 9110 token characters (method and header names).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
// absolute-form (RFC 9112 3.2.2): scheme "://" authority, then the path (maybe empty) and query.
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;
// Host = uri-host [ ":" port ] (RFC 9110 7.2): an IP literal, or reg-name / IPv4 characters.
// A CR not followed by LF, or an LF not preceded by CR (RFC 9112 2.2: such a line is not a line).
const BARE_LINE_END = /\r(?!\n)|(?<!\r)\n/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * Parse the head `buf[start, end)` (the request line and header lines, without the final
 * blank line). Lines must end with CRLF: a bare CR or LF is refused (request smuggling
 * through line-ending confusion), as are obs-fold continuation lines.
 */
export function parseHead(buf: Buffer, start: number, end: number, headLength: number): RequestHead {
  const text = buf.toString('latin1', start, end);
  if (BARE_LINE_END.test(text)) throw new HeadError(400, 'a line of the request head does not end with CRLF');
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) throw new HeadError(400, `malformed request line ${JSON.stringify(requestLine.slice(0, 80))}`);
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!TOKEN.test(method)) throw new HeadError(400, `malformed method ${JSON.stringify(method.slice(0, 40))}`);
  if (!TARGET.test(target)) throw new HeadError(400, `malformed request target ${JSON.stringify(target.slice(0, 80))}`);
  // The four forms of RFC 9112 3.2; anything else (a relative path such as "a/b") is refused.
  let pathStart = 0;
  let authority: string | undefined;
  if (target.charCodeAt(0) !== 0x2f && target !== '*') {
    const abs = ABSOLUTE.exec(target);
    if (abs !== null) {
      authority = abs[1] as string;
      pathStart = abs[0].length;
    } else if (method === 'CONNECT' && HOST.test(target)) {
      authority = target;
      pathStart = target.length;
    } else {
      throw new HeadError(
        400,
        `request target ${JSON.stringify(target.slice(0, 80))} is not in origin, absolute, authority or asterisk form`,
      );
    }
    if (!HOST.test(authority)) throw new HeadError(400, `malformed authority in request target ${JSON.stringify(target.slice(0, 80))}`);
  }
  let minor: number;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new HeadError(505, `HTTP version ${version} is not supported`);
  else throw new HeadError(400, `malformed HTTP version ${JSON.stringify(version.slice(0, 20))}`);

  const headers = new HeaderMap();
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let hosts = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HeadError(400, `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HeadError(400, `malformed header name ${JSON.stringify(name.slice(0, 40))}`);
    const value = trimOws(line, colon + 1);
    if (BAD_VALUE.test(value)) throw new HeadError(400, `header ${name} holds a control character`);
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new HeadError(400, `bad Content-Length ${JSON.stringify(value.slice(0, 20))}`);
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) throw new HeadError(400, 'conflicting Content-Length headers');
      contentLength = n;
      if (headers.has(lower)) continue;
    } else if (lower === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    } else if (lower === 'host') {
      // RFC 9112 3.2: more than one Host, or one that is not host[:port], is a 400.
      if (++hosts > 1) throw new HeadError(400, 'more than one Host header');
      if (!HOST.test(value)) throw new HeadError(400, `malformed Host ${JSON.stringify(value.slice(0, 80))}`);
    }
    headers._add(lower, value);
  }

  return completeHead(method, target, pathStart, authority, minor, headers, headLength, contentLength, transferEncoding);
}

/** What parseHead and parseHeadFast share once the lines are read: framing, Host, keep-alive, Expect, Upgrade. */
export function completeHead(
  method: string,
  target: string,
  pathStart: number,
  authority: string | undefined,
  minor: number,
  headers: HeaderMap,
  headLength: number,
  contentLength: number,
  transferEncoding: string | undefined,
): RequestHead {
  let chunked = false;
  if (transferEncoding !== undefined) {
    // A request with both framings is the classic smuggling vector: refuse it (RFC 9112 6.1 allows it).
    if (contentLength >= 0) throw new HeadError(400, 'both Transfer-Encoding and Content-Length');
    const codings = transferEncoding
      .toLowerCase()
      .split(',')
      .map((c) => trimOws(c, 0));
    if (codings[codings.length - 1] !== 'chunked') {
      throw new HeadError(400, `Transfer-Encoding ${JSON.stringify(transferEncoding)} does not end with chunked`);
    }
    // chunked must be applied exactly once (RFC 9112 6.1)
    if (codings.indexOf('chunked') !== codings.length - 1) throw new HeadError(400, 'Transfer-Encoding applies chunked more than once');
    if (codings.length > 1) throw new HeadError(501, `Transfer-Encoding ${JSON.stringify(transferEncoding)} is not supported`);
    if (minor === 0) throw new HeadError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    chunked = true;
  }
  if (minor === 1 && headers._get('host') === undefined) throw new HeadError(400, 'HTTP/1.1 request without a Host header');

  const connection = (headers._get('connection') ?? '').toLowerCase();
  const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
  const expect = headers._get('expect');
  const upgradeHeader = headers._get('upgrade');
  return {
    method,
    target,
    pathStart,
    authority,
    minor,
    headers,
    headLength,
    contentLength,
    chunked,
    keepAlive,
    expectContinue: minor === 1 && expect !== undefined && expect.toLowerCase() === '100-continue',
    upgrade: upgradeHeader !== undefined && hasToken(connection, 'upgrade') ? upgradeHeader.toLowerCase() : '',
  };
}

/** Whether the comma-separated list `list` (lower-cased) holds `token`. */
export function hasToken(list: string, token: string): boolean {
  if (list === token) return true;
  if (!list.includes(token)) return false;
  return list.split(',').some((t) => trimOws(t, 0) === token);
}

/** `s` from `from` without the optional whitespace (SP and HTAB only, RFC 9110 5.6.3) around it. */
function trimOws(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
