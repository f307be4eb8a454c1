import * as fs from 'node:fs';
import * as http from 'node:http';
import { BeyodError, ErrorCodes } from '../errors';
import { cleanStaleUnixSocket } from '../unixSocket';
import { parseSocketUrl } from '../url';

/** What the metrics listener serves; the master answers from its own tables (no worker is asked). */
export interface MetricsSource {
  /** The Prometheus exposition. */
  metricsText(): string;
  /** Ready when every worker accepts and answers its heartbeat (a load balancer's check). */
  ready(): Readiness;
  /** Alive unless stopping (a liveness check: a reload is not a reason to restart us). */
  alive(): Readiness;
}

export interface Readiness {
  ok: boolean;
  /** Why not, in words (`worker 2 is starting`); '' when ok. */
  reason: string;
  workers?: Array<{ workerId: number; state: string }>;
}

/** Bounds for a listener only scrapers and probes talk to. */
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The master's HTTP listener for metrics and health: `GET /metrics` (Prometheus text format),
 * `GET /ready` (200 when every worker is ready, else 503 and the reason), `GET /health` (200
 * while the master runs, 503 once it stops). Anything else: 404 / 405; a malformed request
 * is answered 400 and that connection closed.
 */
export class MetricsServer {
  private server: http.Server | undefined;
  private address = '';

  constructor(
    readonly url: string,
    private readonly source: MetricsSource,
  ) {}

  /** Where it listens ("127.0.0.1:9464", or the socket path), once started. */
  get boundAddress(): string {
    return this.address;
  }

  async start(): Promise<void> {
    const addr = parseSocketUrl(this.url);
    const server = http.createServer(
      { maxHeaderSize: 8192, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
      (req, res) => this.serve(req, res),
    );
    server.maxConnections = MAX_CONNECTIONS;
    server.keepAliveTimeout = 5000;
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    if (addr.transport === 'unix') await cleanStaleUnixSocket(addr.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new BeyodError(
            ErrorCodes.LISTEN_FAILED,
            `components.server.metrics: cannot serve metrics on ${this.url}: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`,
            { listen: this.url, errno: err.code },
            { cause: err },
          ),
        ),
      );
      if (addr.transport === 'unix') server.listen(addr.path, resolve);
      else server.listen(addr.port, addr.host, resolve);
    });
    server.unref();
    this.server = server;
    const a = server.address();
    this.address = typeof a === 'string' ? a : a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '';
    if (addr.transport === 'unix') fs.chmodSync(addr.path, 0o660);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    try {
      if (path === '/metrics') {
        const body = this.source.metricsText();
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
      } else if (path === '/ready' || path === '/health') {
        const r = path === '/ready' ? this.source.ready() : this.source.alive();
        const body = `${JSON.stringify({ status: r.ok ? 'ok' : 'unavailable', ...(r.reason && { reason: r.reason }), ...(r.workers && { workers: r.workers }) })}\n`;
        res
          .writeHead(r.ok ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : body);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /ready or /health\n');
      }
    } catch (e) {
      // a bug in building the answer must not reach uncaughtException in the master
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(e as Error).message}\n`);
    }
  }
}
