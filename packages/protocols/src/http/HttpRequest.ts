import { HeaderMap } from './HeaderMap';
import type { RequestHead } from './head';
import type { ParseError } from './state';
import { type FormData, type FormOptions, parseForm } from './form';
import { parseCookies } from './cookies';

const EMPTY = Buffer.alloc(0);
/** formOptions until the handler sets its own (it always does; one object for all requests). */
const NO_FORM_OPTIONS: FormOptions = Object.freeze({});

/**
 * One HTTP request, as decoded by http.Parser. The body is already received (it is bounded by
 * the parser's maxPacketSize); form bodies are parsed on demand with form().
 */
export class HttpRequest {
  readonly method: string;
  /** The request target as sent: path and query ("/search?q=x"). */
  readonly url: string;
  /** The path part of url, still percent-encoded ("/" for an absolute-form target without one). */
  readonly path: string;
  /**
   * The host the request is for: the authority of an absolute-form target (RFC 9112 3.2.2 says
   * it wins over the Host header), else the Host header ('' when there is none).
   */
  readonly host: string;
  /** "1.1" or "1.0". */
  readonly httpVersion: string;
  readonly headers: HeaderMap;
  readonly body: Buffer;
  /** The client's "ip:port". */
  readonly peer: string;
  /** Whether the connection stays open after the response (HTTP/1.1 default, 1.0 with keep-alive). */
  readonly keepAlive: boolean;
  /** The lower-cased Upgrade protocol when the client asked to upgrade ("websocket"), else ''. */
  readonly upgrade: string;
  /** Options for form(): set by the handler (uploadDir, maxFileSize, maxFiles). */
  formOptions: FormOptions = NO_FORM_OPTIONS;
  /** @internal the refusal, when the parser did not accept this request. */
  readonly _error: ParseError | undefined;
  /** @internal upload files written by form(). */
  _tempFiles: string[] | undefined = undefined;
  private _params: Record<string, string> | undefined;
  private _query: Record<string, string | string[]> | undefined;
  private _cookies: Record<string, string> | undefined;
  private _form: Promise<FormData> | undefined;

  constructor(head: RequestHead | undefined, body: Buffer, peer: string, error?: ParseError) {
    this.peer = peer;
    this.body = body;
    this._error = error;
    if (head === undefined) {
      this.method = '';
      this.url = '';
      this.path = '';
      this.host = '';
      this.httpVersion = '1.1';
      this.headers = new HeaderMap();
      this.keepAlive = false;
      this.upgrade = '';
      return;
    }
    this.method = head.method;
    this.url = head.target;
    const target = head.target;
    const q = target.indexOf('?', head.pathStart);
    this.path = target.slice(head.pathStart, q < 0 ? target.length : q);
    if (this.path === '' && head.pathStart > 0 && head.method !== 'CONNECT') this.path = '/';
    this.host = head.authority ?? head.headers._get('host') ?? '';
    this.httpVersion = head.minor === 1 ? '1.1' : '1.0';
    this.headers = head.headers;
    this.keepAlive = head.keepAlive;
    this.upgrade = head.upgrade;
  }

  /** @internal a request the parser refused (the handler answers error.status). */
  static refused(error: ParseError, peer: string): HttpRequest {
    return new HttpRequest(undefined, EMPTY, peer, error);
  }

  /** Route parameters (":name" segments of the matched route); made on first use. */
  get params(): Record<string, string> {
    return (this._params ??= {});
  }

  set params(value: Record<string, string>) {
    this._params = value;
  }

  /** A header's value, any case of `name`. */
  header(name: string): string | undefined {
    return this.headers.get(name);
  }

  /**
   * The query string as an object; a key given twice maps to an array. The object has no
   * prototype, so `?__proto__=x` or `?hasOwnProperty=x` are keys like any other (use
   * `Object.hasOwn(req.query, k)` or `k in req.query`, not `req.query.hasOwnProperty(k)`).
   */
  get query(): Record<string, string | string[]> {
    if (this._query === undefined) {
      const q = this.url.indexOf('?');
      this._query = q < 0 ? nullObject() : searchParamsToObject(new URLSearchParams(this.url.slice(q + 1)));
    }
    return this._query;
  }

  /** Cookies sent by the client. */
  get cookies(): Record<string, string> {
    this._cookies ??= parseCookies(this.headers.get('cookie'));
    return this._cookies;
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return this.body.toString('utf8');
  }

  /** The body parsed as JSON (throws SyntaxError when it is not). */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /**
   * The body of a form: application/x-www-form-urlencoded or multipart/form-data. File parts
   * are written to `formOptions.uploadDir` (the OS temp dir by default) and removed when the
   * response is done, unless moved away. Rejects with BEYOD_HTTP_BAD_FORM or
   * BEYOD_HTTP_BODY_TOO_LARGE (the handler answers 400 / 413 when that escapes onRequest).
   */
  form(): Promise<FormData> {
    this._form ??= parseForm(this, this.formOptions);
    return this._form;
  }
}

/** An object without a prototype: keys sent by a peer cannot reach Object.prototype. */
export function nullObject<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function searchParamsToObject(params: URLSearchParams): Record<string, string | string[]> {
  const out = nullObject<string | string[]>();
  for (const [k, v] of params) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}
