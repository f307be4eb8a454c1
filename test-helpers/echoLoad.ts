/*
 * A load generator for the live-handoff tests and bench/process: WebSocket and frame-protocol
 * clients, each sending a numbered message every `interval` ms (with at most `window` of them
 * unanswered) and checking every echo, which the server makes "<pid> <seq> <count> <origin>":
 * the pid that answered, the number sent back, how many messages that connection has sent
 * (kept by the server in the connection's attributes) and the pid that accepted it (kept by
 * the application, moved through onHandoff / onAdopt). Raw sockets, no client library: one
 * process drives a thousand connections.
 *
 * Run it as a child (fork) so its CPU is its own: it connects, sends {t:'ready'}, and answers
 * {cmd:'phase', name} (latencies from then on are counted under `name`), {cmd:'report'} and
 * {cmd:'finish'} (stop sending, wait for every answer, report, exit) with {t:'report'}.
 * Options come as JSON in argv[2] (LoadOptions).
 */
import * as net from 'node:net';

export interface LoadOptions {
  host: string;
  /** Port of a websocket.Parser listener (path /ws), and how many clients to open there. */
  wsPort?: number;
  wsClients?: number;
  /** Port of a frame.Parser listener, and how many clients. */
  framePort?: number;
  frameClients?: number;
  /** ms between two messages of one client. */
  interval?: number;
  /** Most unanswered messages per client. */
  window?: number;
  /** Reconnect a client whose connection closed (the kill -9 test); otherwise it stays closed. */
  reconnect?: boolean;
}

/** Something a client saw that it must not. */
export interface Problem {
  client: number;
  kind: 'ws' | 'frame';
  what: 'disconnect' | 'reordered' | 'count' | 'origin' | 'garbage' | 'lost';
  detail: string;
  /** The pid that answered it last. */
  pid: number;
}

export interface LoadReport {
  clients: number;
  connected: number;
  sent: number;
  received: number;
  /** Messages per second sent, over the time messages were sent. */
  rate: number;
  seconds: number;
  /** Messages sent and never answered (after finish: lost). */
  outstanding: number;
  problems: number;
  /** The first problems seen (at most 50), and all disconnects. */
  details: Problem[];
  disconnects: Array<{ client: number; kind: 'ws' | 'frame'; pid: number; code?: number }>;
  /** Per client: the pid that answered last, and the pid that accepted it (its origin). */
  /** Per client: problems it saw. */
  clientProblems: number[];
  lastPid: number[];
  origin: number[];
  /** Echo latency in ms by phase. */
  latency: Record<string, { count: number; p50: number; p99: number; max: number }>;
}

const BUCKET_MS = 0.1;
const BUCKETS = 100_000; // up to 10 s

class Histogram {
  readonly counts = new Uint32Array(BUCKETS);
  n = 0;
  max = 0;
  add(ms: number): void {
    const i = Math.min(BUCKETS - 1, Math.floor(ms / BUCKET_MS));
    this.counts[i]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }
  percentile(p: number): number {
    const target = Math.ceil((this.n * p) / 100);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return (i + 1) * BUCKET_MS;
    }
    return this.max;
  }
}

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

class Client {
  socket: net.Socket | null = null;
  open = false;
  private upgraded = false;
  private pending: Buffer | null = null;
  /** Next number to send; next number expected back. */
  sent = 0;
  acked = 0;
  /** `sent` when this connection opened: the server's count restarts on a new connection. */
  base = 0;
  origin = 0;
  lastPid = 0;
  closes = 0;
  problems = 0;
  private readonly sentAt: Float64Array;

  constructor(
    readonly id: number,
    readonly kind: 'ws' | 'frame',
    readonly port: number,
    readonly load: Load,
  ) {
    this.sentAt = new Float64Array(load.window);
  }

  connect(): Promise<void> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, this.load.host);
      this.socket = s;
      s.setNoDelay(true);
      this.pending = null;
      this.upgraded = this.kind === 'frame';
      this.base = this.sent;
      this.acked = this.sent;
      this.origin = 0;
      s.on('connect', () => {
        if (this.kind === 'ws') {
          s.write(
            `GET /ws HTTP/1.1\r\nHost: ${this.load.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          );
        } else {
          this.open = true;
          resolve();
        }
      });
      s.on('data', (d: Buffer) => {
        const was = this.open;
        this.onData(d);
        if (!was && this.open) resolve();
      });
      s.on('error', () => {});
      s.on('close', () => {
        const wasOpen = this.open || !this.upgraded;
        this.open = false;
        this.socket = null;
        resolve();
        if (this.load.finishing && this.sent === this.acked) return;
        this.closes++;
        this.load.disconnect(this, wasOpen);
      });
    });
  }

  send(): void {
    const s = this.socket;
    if (!this.open || s === null || this.sent - this.acked >= this.load.window) return;
    const seq = this.sent++;
    this.sentAt[seq % this.load.window] = performance.now();
    const body = String(seq);
    const n = body.length;
    if (this.kind === 'frame') {
      const b = Buffer.allocUnsafe(4 + n);
      b.writeUInt32BE(4 + n, 0);
      b.write(body, 4, 'latin1');
      s.write(b);
    } else {
      // a masked text frame; the mask is zero, so the payload goes as it is (a server must accept any key)
      const b = Buffer.allocUnsafe(6 + n);
      b[0] = 0x81;
      b[1] = 0x80 | n;
      b.writeUInt32BE(0, 2);
      b.write(body, 6, 'latin1');
      s.write(b);
    }
    this.load.sent++;
  }

  private onData(d: Buffer): void {
    const buf = this.pending === null ? d : Buffer.concat([this.pending, d]);
    let at = 0;
    if (!this.upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.pending = buf;
        return;
      }
      const head = buf.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) {
        this.load.problem(this, 'garbage', `handshake answered: ${head.split('\r\n')[0]}`);
        this.socket?.destroy();
        return;
      }
      this.upgraded = true;
      this.open = true;
      at = end + 4;
    }
    while (at < buf.length) {
      if (this.kind === 'frame') {
        if (buf.length - at < 4) break;
        const len = buf.readUInt32BE(at);
        if (buf.length - at < len) break;
        this.echo(buf.toString('latin1', at + 4, at + len));
        at += len;
      } else {
        if (buf.length - at < 2) break;
        const op = buf[at]! & 0x0f;
        let len = buf[at + 1]! & 0x7f;
        let h = 2;
        if (len === 126) {
          if (buf.length - at < 4) break;
          len = buf.readUInt16BE(at + 2);
          h = 4;
        } else if (len === 127) {
          if (buf.length - at < 10) break;
          len = Number(buf.readBigUInt64BE(at + 2));
          h = 10;
        }
        if (buf.length - at < h + len) break;
        const payload = buf.subarray(at + h, at + h + len);
        at += h + len;
        if (op === 1) this.echo(payload.toString('latin1'));
        else if (op === 9) this.control(0x8a, payload);
        else if (op === 8) {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          this.load.closeCode(this, code);
          this.control(0x88, payload.subarray(0, 2));
        }
      }
    }
    this.pending = at < buf.length ? buf.subarray(at) : null;
  }

  private control(first: number, payload: Buffer): void {
    const b = Buffer.alloc(6 + payload.length);
    b[0] = first;
    b[1] = 0x80 | payload.length;
    payload.copy(b, 6);
    this.socket?.write(b);
  }

  private echo(text: string): void {
    const [pid, seq, count, origin] = text.split(' ').map(Number) as [number, number, number, number];
    this.lastPid = pid;
    if (seq !== this.acked) {
      this.load.problem(this, 'reordered', `expected ${this.acked}, got "${text}"`);
      if (seq > this.acked) this.acked = seq;
    }
    if (count !== seq - this.base + 1)
      this.load.problem(this, 'count', `message ${seq}: the server counted ${count}, not ${seq - this.base + 1}`);
    if (this.origin === 0) this.origin = origin;
    else if (origin !== this.origin) this.load.problem(this, 'origin', `accepted by pid ${this.origin}, now says ${origin}`);
    const t = this.sentAt[seq % this.load.window]!;
    this.load.latency(performance.now() - t);
    this.acked = seq + 1;
    this.load.received++;
  }
}

export class Load {
  readonly host: string;
  readonly window: number;
  readonly interval: number;
  readonly clients: Client[] = [];
  sent = 0;
  received = 0;
  finishing = false;
  private phase = 'start';
  private readonly histograms = new Map<string, Histogram>();
  private readonly problems: Problem[] = [];
  private problemCount = 0;
  private readonly disconnects: LoadReport['disconnects'] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private stoppedAt = 0;

  constructor(readonly options: LoadOptions) {
    this.host = options.host;
    this.window = options.window ?? 50;
    this.interval = options.interval ?? 10;
    let id = 0;
    for (let i = 0; i < (options.wsClients ?? 0); i++) this.clients.push(new Client(id++, 'ws', options.wsPort ?? 0, this));
    for (let i = 0; i < (options.frameClients ?? 0); i++) this.clients.push(new Client(id++, 'frame', options.framePort ?? 0, this));
  }

  /** Open every connection, 100 at a time (the listen backlog is finite). */
  async connect(): Promise<void> {
    for (let i = 0; i < this.clients.length; i += 100) await Promise.all(this.clients.slice(i, i + 100).map((c) => c.connect()));
    const failed = this.clients.filter((c) => !c.open);
    if (failed.length) throw new Error(`${failed.length} of ${this.clients.length} clients could not connect`);
  }

  /** Send from every client every `interval` ms (one timer for all: a late tick sends late, the rate shows it). */
  start(): void {
    this.startedAt = performance.now();
    this.timer = setInterval(() => {
      for (const c of this.clients) c.send();
    }, this.interval);
  }

  setPhase(name: string): void {
    this.phase = name;
  }

  latency(ms: number): void {
    let h = this.histograms.get(this.phase);
    if (h === undefined) this.histograms.set(this.phase, (h = new Histogram()));
    h.add(ms);
  }

  problem(c: Client, what: Problem['what'], detail: string): void {
    this.problemCount++;
    c.problems++;
    if (this.problems.length < 50) this.problems.push({ client: c.id, kind: c.kind, what, detail, pid: c.lastPid });
  }

  closeCode(c: Client, code: number): void {
    this.problem(c, 'disconnect', `the server sent a close frame ${code}`);
  }

  disconnect(c: Client, wasOpen: boolean): void {
    this.disconnects.push({ client: c.id, kind: c.kind, pid: c.lastPid });
    this.problem(c, 'disconnect', `connection closed${wasOpen ? '' : ' before it opened'} (${c.sent - c.acked} unanswered)`);
    if (this.options.reconnect && !this.finishing) setTimeout(() => void c.connect(), 50);
  }

  /** Stop sending, and wait (up to `ms`) for every answer. */
  async finish(ms = 15000): Promise<void> {
    this.finishing = true;
    clearInterval(this.timer);
    this.stoppedAt = performance.now();
    const deadline = Date.now() + ms;
    while (this.clients.some((c) => c.open && c.acked < c.sent) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.clients) {
      if (c.acked < c.sent && c.open) this.problem(c, 'lost', `${c.sent - c.acked} messages never answered (from ${c.acked})`);
    }
  }

  report(): LoadReport {
    const end = this.stoppedAt || performance.now();
    const seconds = this.startedAt ? (end - this.startedAt) / 1000 : 0;
    const latency: LoadReport['latency'] = {};
    for (const [phase, h] of this.histograms) {
      latency[phase] = { count: h.n, p50: h.percentile(50), p99: h.percentile(99), max: Math.round(h.max * 10) / 10 };
    }
    return {
      clients: this.clients.length,
      connected: this.clients.filter((c) => c.open).length,
      sent: this.sent,
      received: this.received,
      rate: seconds ? Math.round(this.sent / seconds) : 0,
      seconds: Math.round(seconds * 10) / 10,
      outstanding: this.clients.reduce((n, c) => n + (c.sent - c.acked), 0),
      problems: this.problemCount,
      details: this.problems,
      disconnects: this.disconnects,
      clientProblems: this.clients.map((c) => c.problems),
      lastPid: this.clients.map((c) => c.lastPid),
      origin: this.clients.map((c) => c.origin),
      latency,
    };
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of this.clients) c.socket?.destroy();
  }
}

// As a child process: drive the load as the parent says.
if (require.main === module) {
  const load = new Load(JSON.parse(process.argv[2] ?? '{}') as LoadOptions);
  process.on('message', (m: { cmd: string; name?: string }) => {
    if (m.cmd === 'phase') load.setPhase(m.name ?? 'unnamed');
    else if (m.cmd === 'report') process.send?.({ t: 'report', report: load.report() });
    else if (m.cmd === 'finish') {
      void load.finish().then(() => {
        process.send?.({ t: 'report', report: load.report() }, () => {
          load.close();
          process.exit(0);
        });
      });
    }
  });
  process.on('disconnect', () => {
    load.close();
    process.exit(0);
  });
  load.connect().then(
    () => {
      load.start();
      process.send?.({ t: 'ready', clients: load.clients.length });
    },
    (e: Error) => {
      process.send?.({ t: 'failed', message: e.message }, () => process.exit(1));
    },
  );
}
