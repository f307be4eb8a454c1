import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BeyodError,
  type CloseEvent,
  type Connection,
  type DeadlineEvent,
  ErrorEvent,
  Handler,
  type IOEvent,
  type MessageEvent,
  toError,
} from '@beyod/core';
import { HttpErrorCodes } from './errors';
import type { FormOptions } from './form';
import { HttpParser } from './HttpParser';
import { HttpRequest, nullObject } from './HttpRequest';
import { HttpResponse } from './HttpResponse';
import { refuse } from './refuse';
import { CONTINUE_EXPECTED, TIMER_BODY, TIMER_HEAD, TIMER_IDLE, TIMER_NONE, disarm, httpStateOf, isHttpDeadline } from './state';
import { serveStatic } from './static';

/** A route's function: like onRequest, `this` is the handler. */
export type RouteFunction = (this: HttpHandler, req: HttpRequest, res: HttpResponse) => void | Promise<void>;

interface CompiledRoute {
  method: string;
  regex: RegExp;
  keys: string[];
  fn: RouteFunction;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');

/**
 * Serves HTTP requests decoded by http.Parser. Routes (`routes` or route()) are tried first,
 * then onRequest(req, res) — whose default serves static files from `documentRoot` (relative to
 * the app directory) and answers 404 otherwise. onRequest and routes may be async: the
 * response is ended when the promise resolves, if they did not end it. A throw answers 500
 * (400/413 for a bad form body) and goes to onError.
 *
 * The protocol's own work runs in core's protocol hooks (beforeConnect, beforeMessage,
 * beforeClose, beforeBufferDrain, beforeDeadline), so it happens however a subclass defines
 * onConnect, onClose… (an override without super, or a class field `onClose = () => …`).
 * Requests never reach onMessage: it gets only the messages of a protocol the connection
 * switched to (see onUpgrade).
 */
export class HttpHandler extends Handler {
  /** Directory of static files, relative to the app directory ('' = no static files). */
  documentRoot = '';
  /** Files served for a directory path. */
  indexFiles: string[] = ['index.html', 'index.htm'];
  /** List a directory that has no index file (otherwise 403). */
  directoryListing = false;
  /** "METHOD /path/:param" (or "/path", any method) -> a function, or the name of a method of this handler. */
  routes: Record<string, RouteFunction | string> = {};
  /** Where form() writes uploaded files ('' = the OS temp directory; relative to the app directory). */
  uploadDir = '';
  /** Largest uploaded file in bytes (0 = only the parser's maxPacketSize). */
  maxFileSize = 0;
  /** Most files in one request. */
  maxFiles = 20;
  /**
   * Most pipelined requests of one connection in flight (read, not yet answered): past it the
   * connection stops reading until half of them are answered.
   */
  maxRequestsInFlight = 16;
  /** Most static files open at once for one connection (pipelined requests wait their turn). */
  maxOpenFiles = 4;
  /** Most fields (not files) in one form body, urlencoded or multipart; over it form() rejects and the request is answered 413. */
  maxFields = 1000;

  private compiled: CompiledRoute[] | undefined;
  private outOfFilesLoggedAt = 0;
  /** Out of file descriptors on a static file: the request got 503; warn, at most every 10 s. */
  private readonly outOfFiles = (e: Error): void => {
    const now = Date.now();
    if (now - this.outOfFilesLoggedAt < 10_000) return;
    this.outOfFilesLoggedAt = now;
    this.listener?.logger.warn({ err: e.message }, 'out of file descriptors serving static files: answering 503 (raise ulimit -n?)');
  };
  private root: string | null | undefined;
  private formOpts: FormOptions | undefined;

  /** Add a route: `method` is a method name or '*'; `pattern` may hold ":name" segments and end with "*". */
  route(method: string, pattern: string, fn: RouteFunction): this {
    this.compileRoutes().push(compileRoute(method, pattern, fn));
    return this;
  }

  /**
   * The protocol's part of onMessage: a request is answered here (routes, onRequest, onUpgrade)
   * and goes no further, as does the head of a request waiting for its 100 Continue. Anything
   * else is a message of the protocol the connection switched to (see onUpgrade) and goes on
   * to onMessage.
   */
  protected override beforeMessage(event: MessageEvent): boolean {
    const req = event.message;
    if (!(req instanceof HttpRequest)) {
      if (req !== CONTINUE_EXPECTED) return true;
      // Only when nothing is in flight: a 100 must not overtake earlier responses (the client
      // then sends its body after its own timeout, RFC 9110 10.1.1).
      if (httpStateOf(event.sender)?.queue.length === 0) event.sender.send(CONTINUE, true);
      return false;
    }
    const conn = event.sender as Connection;
    const state = httpStateOf(conn);
    if (state === undefined) return false;
    if (req._error !== undefined) {
      this.log(conn, 'debug', `refused request: ${req._error.message}`, req._error.code);
      refuse(conn, state, req._error, req);
      return false;
    }
    const res = new HttpResponse(req, conn, state);
    const inFlight = state.queue.push(res);
    if (!req.keepAlive) {
      // Requests pipelined after one that closes the connection are not read.
      state.lastRequest = true;
      conn.pause();
    } else if (inFlight >= this.maxRequestsInFlight && !state.held) {
      // Enough answers pending: stop reading until half of them are out (as node:http stops
      // reading a socket whose responses pile up). Memory stays bounded, nothing is refused.
      state.held = true;
      state.resumeAt = this.maxRequestsInFlight >> 1;
      conn.pause();
    }
    req.formOptions = this.formOptions();
    // An upgrade is offered only when nothing else is in flight (the switch must come right
    // after the responses before it); otherwise Upgrade is ignored, as RFC 9110 7.8 allows.
    if (req.upgrade !== '' && req.keepAlive && state.queue.length === 1 && this.onUpgrade(req, res, conn)) return false;
    this.dispatch(req, res, conn);
    return false;
  }

  /**
   * A request asked to switch protocols (`Upgrade`), with nothing else in flight on its
   * connection. Return true when it was taken: answered (a refusal), or switched with
   * `res.switchProtocols(protocol, parser, state)` — from then on the connection's bytes go
   * to that parser and onMessage gets what it decodes. The default returns false: the
   * request is answered as a plain one (RFC 9110 7.8 lets a server ignore Upgrade).
   */
  protected onUpgrade(_req: HttpRequest, _res: HttpResponse, _conn: Connection): boolean {
    return false;
  }

  /** Run the matching route, else onRequest; end the response when they did not. */
  protected dispatch(req: HttpRequest, res: HttpResponse, conn: Connection): void {
    let r: unknown;
    try {
      const route = this.match(req);
      r = route ? route.call(this, req, res) : this.onRequest(req, res);
    } catch (e) {
      this.requestFailed(req, res, conn, e);
      return;
    }
    if (r !== undefined && r !== null && typeof (r as Promise<void>).then === 'function') {
      (r as Promise<void>).then(
        () => {
          if (!res.finished && !res.isPiped) res.end();
        },
        (e: unknown) => this.requestFailed(req, res, conn, e),
      );
    } else if (!res.finished && !res.isPiped) {
      res.end();
    }
  }

  /**
   * Answer a request no route took. The default serves static files from documentRoot and
   * answers 404 otherwise; override it for an application (call super for the static files).
   */
  onRequest(req: HttpRequest, res: HttpResponse): void | Promise<void> {
    const root = this.documentRootPath();
    if (root === null) return this.notFound(res);
    return serveStatic(req, res, {
      root,
      indexFiles: this.indexFiles,
      directoryListing: this.directoryListing,
      maxOpenFiles: this.maxOpenFiles,
      onOutOfFiles: this.outOfFiles,
    }).then((served) => {
      if (!served) this.notFound(res);
    });
  }

  /** Answer 404. */
  protected notFound(res: HttpResponse): void {
    res.status = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('404 Not Found\n');
  }

  /** The absolute document root, or null when none is configured or it does not exist. */
  documentRootPath(): string | null {
    if (this.root !== undefined) return this.root;
    if (this.documentRoot === '') return (this.root = null);
    const abs = path.resolve(this.listener?.basePath ?? process.cwd(), this.documentRoot);
    try {
      this.root = fs.realpathSync(abs);
    } catch (e) {
      this.listener?.logger.error({ documentRoot: abs, err: toError(e).message }, 'documentRoot does not exist; static files are off');
      this.root = null;
    }
    return this.root;
  }

  private formOptions(): FormOptions {
    this.formOpts ??= {
      uploadDir: this.uploadDir === '' ? undefined : path.resolve(this.listener?.basePath ?? process.cwd(), this.uploadDir),
      maxFileSize: this.maxFileSize,
      maxFiles: this.maxFiles,
      maxFields: this.maxFields,
    };
    return this.formOpts;
  }

  private requestFailed(req: HttpRequest, res: HttpResponse, conn: Connection, e: unknown): void {
    const cause = toError(e);
    const code = (cause as { code?: string }).code;
    const status =
      code === HttpErrorCodes.BAD_FORM
        ? 400
        : code === HttpErrorCodes.BODY_TOO_LARGE || code === HttpErrorCodes.TOO_MANY_FIELDS
          ? 413
          : 500;
    const error =
      status === 500
        ? new BeyodError(
            HttpErrorCodes.HANDLER_FAILED,
            `${req.method} ${req.path} failed: ${cause.message}`,
            { method: req.method, path: req.path },
            { cause },
          )
        : cause;
    if (status === 500) this.log(conn, 'error', error.message, HttpErrorCodes.HANDLER_FAILED);
    try {
      const r = this.onError(new ErrorEvent(conn, error));
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).catch(() => {});
    } catch {
      /* onError's own failure must not stop the answer */
    }
    if (res.headersSent) {
      conn.destroy('error', error);
      return;
    }
    if (res.finished) return;
    res.status = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(status === 500 ? '500 Internal Server Error\n' : `${status} ${cause.message}\n`);
  }

  private match(req: HttpRequest): RouteFunction | undefined {
    const routes = this.compileRoutes();
    for (const r of routes) {
      if (r.method !== '*' && r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      const m = r.regex.exec(req.path);
      if (!m) continue;
      const params = nullObject<string>();
      r.keys.forEach((k, i) => {
        const v = m[i + 1] ?? '';
        try {
          params[k] = decodeURIComponent(v);
        } catch {
          params[k] = v;
        }
      });
      req.params = params;
      return r.fn;
    }
    return undefined;
  }

  private compileRoutes(): CompiledRoute[] {
    if (this.compiled !== undefined) return this.compiled;
    this.compiled = [];
    for (const [key, target] of Object.entries(this.routes)) {
      const sp = key.indexOf(' ');
      const method = sp < 0 ? '*' : key.slice(0, sp);
      const pattern = sp < 0 ? key : key.slice(sp + 1).trim();
      let fn: RouteFunction;
      if (typeof target === 'function') fn = target;
      else {
        const m = (this as unknown as Record<string, unknown>)[target];
        if (typeof m !== 'function')
          throw new TypeError(`route ${JSON.stringify(key)}: this handler has no method ${JSON.stringify(target)}`);
        fn = m as RouteFunction;
      }
      this.compiled.push(compileRoute(method, pattern, fn));
    }
    return this.compiled;
  }

  /** The protocol's part of onConnect: start the connection's keep-alive clock. */
  protected override beforeConnect(event: IOEvent): void {
    const parser = this.listener?.parserInstance;
    if (parser instanceof HttpParser) parser.watch(event.sender);
  }

  /** The protocol's part of onClose: drop unsent responses, stop their streams, remove uploads. */
  protected override beforeClose(event: CloseEvent): void {
    const state = httpStateOf(event.sender);
    if (state === undefined) return;
    state.closing = true;
    state.timer = TIMER_NONE;
    for (const r of state.queue.splice(0)) r._abort();
  }

  /** The protocol's part of onBufferDrain: the response being written may go on ('drain', a paused stream resumes). */
  protected override beforeBufferDrain(event: IOEvent): void {
    (httpStateOf(event.sender)?.queue[0] as HttpResponse | undefined)?._drained();
  }

  /**
   * HTTP's deadlines (armed by the parser): a head or body not complete in time is answered
   * 408; an idle keep-alive connection is closed. Other deadlines (an application's, on a
   * switched connection) go on to onDeadline.
   */
  protected override beforeDeadline(event: DeadlineEvent): boolean {
    if (!isHttpDeadline(event.kind)) return true;
    const conn = event.sender;
    const state = httpStateOf(conn);
    if (state === undefined || state.timer !== event.kind) return false;
    const parser = this.listener?.parserInstance;
    const limits = parser instanceof HttpParser ? parser : undefined;
    if (event.kind === TIMER_HEAD) {
      refuse(conn, state, {
        status: 408,
        code: HttpErrorCodes.HEADER_TIMEOUT,
        message: `request head not complete within headerTimeout ${limits?.headerTimeout ?? '?'} s`,
      });
    } else if (event.kind === TIMER_BODY) {
      refuse(conn, state, {
        status: 408,
        code: HttpErrorCodes.REQUEST_TIMEOUT,
        message: `request body not complete within requestTimeout ${limits?.requestTimeout ?? '?'} s`,
      });
    } else if (event.kind === TIMER_IDLE && state.queue.length === 0) {
      disarm(conn, state);
      state.closing = true;
      conn.close();
    }
    return false;
  }

  private log(conn: Connection, level: 'debug' | 'error', msg: string, code: string): void {
    const logger = this.listener?.logger;
    if (logger === undefined || !logger.isLevelEnabled(level)) return;
    logger[level]({ conn: conn.id, peer: conn.peer, code }, msg);
  }
}

function compileRoute(method: string, pattern: string, fn: RouteFunction): CompiledRoute {
  const keys: string[] = [];
  let src = '';
  for (const part of pattern.split('/').slice(1)) {
    if (part === '*') {
      keys.push('*');
      src += '(?:/(.*))?';
    } else if (part.startsWith(':')) {
      keys.push(part.slice(1));
      src += '/([^/]+)';
    } else {
      src += `/${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    }
  }
  return { method: method.toUpperCase(), regex: new RegExp(`^${src || '/'}$`), keys, fn };
}
