/*
 * bench/dispatcher/hostile.ts: what one hostile connection does to the dispatcher, measured from
 * outside on raw sockets (issue 11). Each probe starts a fresh dispatcher (server.ts) and prints
 * one line; "stall" is the longest a well-behaved client waited for a `count` answer meanwhile.
 *   node -r @beyod/cli/register bench/dispatcher/hostile.ts [probe ...]
 * Probes: deep, pops, unwait, subscribe, channels, memory, auth, timeout. Server options can be
 * given as JSON in DISPATCHER_HANDLER (e.g. '{"maxBlockedPops":0}' to measure unbounded lines);
 * HOSTILE_BASELINE=1 passes no option a dispatcher before issue 11 would refuse.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { firstLine, machine, stopChild } from '../lib';

const ROOT = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function frame(o: unknown): Buffer {
  const body = Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32BE(4 + body.length, 0);
  body.copy(b, 4);
  return b;
}

/** A raw connection that parses the frames it receives (linear in the bytes, big frames too). */
class Conn {
  frames: Array<Record<string, unknown>> = [];
  /** Frames received (parsed or not). */
  count = 0;
  /** Count frames without parsing them (a flood of answers). */
  countOnly = false;
  bytes = 0;
  closed = false;
  private chunks: Buffer[] = [];
  private held = 0;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.bytes += d.length;
      this.chunks.push(d);
      this.held += d.length;
      for (;;) {
        if (this.held < 4) return;
        let head = this.chunks[0] as Buffer;
        if (head.length < 4) head = this.join();
        const n = head.readUInt32BE(0);
        if (this.held < n) return;
        if (head.length < n) head = this.join();
        this.count++;
        if (!this.countOnly) this.frames.push(JSON.parse(head.toString('utf8', 4, n)) as Record<string, unknown>);
        this.chunks[0] = head.subarray(n);
        this.held -= n;
        if ((this.chunks[0] as Buffer).length === 0) this.chunks.shift();
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }
  private join(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all;
  }
  static open(port: number, opts: Partial<net.TcpNetConnectOpts> = {}): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1', ...opts }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  send(o: unknown): void {
    this.socket.write(frame(o));
  }
  async until(check: () => boolean, ms = 120000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await sleep(2);
    }
  }
  async call(o: Record<string, unknown>): Promise<Record<string, unknown>> {
    const n = this.frames.length;
    this.send(o);
    await this.until(() => this.frames.length > n);
    return this.frames[n] as Record<string, unknown>;
  }
}

/** A client asking `count` in a loop; stall() is the longest wait for an answer so far. */
class Prober {
  private worst = 0;
  private running = true;
  constructor(private readonly c: Conn) {
    void this.loop();
  }
  private async loop(): Promise<void> {
    let seq = 0;
    while (this.running) {
      const t = performance.now();
      await this.c.call({ command: 'count', seq: `p${++seq}` });
      this.worst = Math.max(this.worst, performance.now() - t);
      await sleep(1);
    }
  }
  stop(): number {
    this.running = false;
    return this.worst;
  }
  reset(): void {
    this.worst = 0;
  }
}

async function server(options: Record<string, unknown> = {}): Promise<{ child: ChildProcess; port: number }> {
  const extra = JSON.parse(process.env.DISPATCHER_HANDLER ?? '{}') as Record<string, unknown>;
  // HOSTILE_BASELINE=1: against a dispatcher older than these options (only `token` existed)
  const handler = process.env.HOSTILE_BASELINE ? Object.fromEntries(Object.entries(options).filter(([k]) => k === 'token')) : options;
  const child = spawn(process.execPath, ['-r', '@beyod/cli/register', path.join(__dirname, 'server.ts')], {
    cwd: ROOT,
    env: { ...process.env, DISPATCHER_HANDLER: JSON.stringify({ ...handler, ...extra }) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { child, port: Number(await firstLine(child)) };
}

function rssMB(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const mb = (n: number) => `${n.toFixed(1)} MB`;
const kb = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KB` : mb(bytes / 2 ** 20));

const probes: Record<string, () => Promise<string>> = {
  /** A value nested 100k levels deep in set, then get: how many answers come back. */
  async deep() {
    const { child, port } = await server();
    try {
      const c = await Conn.open(port);
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      c.socket.write(frame(`{"command":"set","key":"k","value":${deep},"seq":1}`));
      c.send({ command: 'get', key: 'k', seq: 2 });
      c.send({ command: 'count', seq: 3 });
      await sleep(1000);
      return `deep: 3 requests (set of a 100k-deep value, get, count) -> ${c.frames.length} answers: ${c.frames.map((f) => `${String(f.seq)}:${f.command === 'error' ? String(f.code) : 'ok'}`).join(' ')}`;
    } finally {
      await stopChild(child);
    }
  },

  /** 500k blocking pops on one connection: RSS growth. */
  async pops() {
    const { child, port } = await server();
    try {
      const c = await Conn.open(port);
      c.countOnly = true; // every answer here is a 740
      const before = rssMB(child.pid);
      const N = 500_000;
      const chunk: Buffer[] = [];
      let sent = 0;
      for (let i = 0; i < N; i++) {
        const f = frame({ command: 'qpop', key: 'q', block: true, seq: i });
        chunk.push(f);
        sent += f.length;
        if (chunk.length === 1000) c.socket.write(Buffer.concat(chunk.splice(0)));
      }
      const probe = await Conn.open(port);
      await probe
        .until(() => {
          probe.send({ command: 'stats', seq: 's' });
          return false;
        }, 0)
        .catch(() => {});
      await sleep(3000);
      const stats = (await probe.call({ command: 'stats', seq: 'x' })).value as Record<string, number>;
      const refused = c.count;
      return `pops: ${N} blocking pops (${mb(sent / 2 ** 20)} sent) -> ${stats.blocked} waiting, ${refused} refused (740), RSS ${mb(before)} -> ${mb(rssMB(child.pid))}`;
    } finally {
      await stopChild(child);
    }
  },

  /** A connection with 100k waiters on one key closes: how long other clients wait. */
  async unwait() {
    const { child, port } = await server({ maxBlockedPops: 0 });
    try {
      const a = await Conn.open(port);
      const b = await Conn.open(port);
      const N = 100_000;
      for (const c of [a, b]) {
        const fs_: Buffer[] = [];
        for (let i = 0; i < N; i++) fs_.push(frame({ command: 'qpop', key: 'q', block: true, seq: i }));
        c.socket.write(Buffer.concat(fs_));
      }
      const probe = await Conn.open(port);
      for (;;) {
        const s = (await probe.call({ command: 'stats', seq: 's' })).value as Record<string, number>;
        if (s.blocked === 2 * N) break;
        await sleep(100);
      }
      const p = new Prober(await Conn.open(port));
      await sleep(200);
      p.reset();
      a.socket.destroy();
      for (;;) {
        const s = (await probe.call({ command: 'stats', seq: 's' })).value as Record<string, number>;
        if (s.blocked === N) break;
        await sleep(20);
      }
      await sleep(300); // a few more probes: one of them may have waited for the close
      return `unwait: a connection with ${N} of ${2 * N} waiters on one key closed -> other clients stalled ${p.stop().toFixed(1)} ms (maxBlockedPops 0 for this probe)`;
    } finally {
      await stopChild(child);
    }
  },

  /** 20 single-key subscribes after 100k channels: bytes of the answers. */
  async subscribe() {
    const { child, port } = await server();
    try {
      const c = await Conn.open(port);
      const keys = Array.from({ length: 100_000 }, (_, i) => `channel-${i}`);
      await c.call({ command: 'subscribe', key: keys, seq: 0 });
      const before = c.bytes;
      for (let i = 1; i <= 20; i++) c.send({ command: 'subscribe', key: `extra-${i}`, seq: i });
      await c.until(() => c.frames.length >= 21);
      return `subscribe: 20 single-key subscribes after 100k channels -> ${kb(c.bytes - before)} of answers`;
    } finally {
      await stopChild(child);
    }
  },

  /** `channels` at 1M subscriptions (100 connections x 10k): stall of another client, answer size. */
  async channels() {
    const { child, port } = await server();
    try {
      const conns = await Promise.all(Array.from({ length: 100 }, () => Conn.open(port)));
      await Promise.all(
        conns.map((c, i) =>
          c.call({ command: 'subscribe', key: Array.from({ length: 10_000 }, (_, k) => `c${(k * 7 + i) % 10_000}`), seq: 1 }),
        ),
      );
      const asker = await Conn.open(port);
      const p = new Prober(await Conn.open(port));
      await sleep(200);
      p.reset();
      const before = asker.bytes;
      await asker.call({ command: 'channels', seq: 'ch' });
      await sleep(200);
      return `channels: one request at 1M subscriptions (10k channels x 100) -> ${kb(asker.bytes - before)} answer, other client stalled ${p.stop().toFixed(1)} ms`;
    } finally {
      await stopChild(child);
    }
  },

  /** With the default empty token: 1 MiB values until refused; RSS. */
  async memory() {
    const { child, port } = await server({ memoryLimit: 64 * 2 ** 20 });
    try {
      const c = await Conn.open(port);
      const before = rssMB(child.pid);
      const v = 'x'.repeat(2 ** 20);
      let stored = 0;
      for (let i = 0; i < 200; i++) {
        const r = await c.call({ command: 'set', key: `k${i}`, value: v, seq: i });
        if (r.code !== 0) break;
        stored++;
      }
      return `memory: 1 MiB sets (memoryLimit 64 MiB for this probe) -> ${stored} stored, then ${stored < 200 ? '740 memoryLimit' : 'never refused'}; RSS ${mb(before)} -> ${mb(rssMB(child.pid))}`;
    } finally {
      await stopChild(child);
    }
  },

  /** Wrong tokens as fast as the server answers, for 2 s: how many were checked. */
  async auth() {
    const { child, port } = await server({ token: 'the right token' });
    try {
      const c = await Conn.open(port);
      let tried = 0;
      let throttled = 0;
      const end = Date.now() + 2000;
      while (Date.now() < end) {
        const r = await c.call({ command: 'auth', value: `guess-${tried}`, seq: tried });
        tried++;
        if (r.code === 782) throttled++;
      }
      return `auth: wrong tokens for 2 s -> ${tried} answered, ${tried - throttled} checked against the token, ${throttled} refused unchecked (782)`;
    } finally {
      await stopChild(child);
    }
  },

  /** A blocked qpop times out while the client's send buffer is full: is the null answer lost? */
  async timeout() {
    const { child, port } = await server();
    try {
      const filler = await Conn.open(port);
      await filler.call({ command: 'set', key: 'big', value: 'y'.repeat(3 * 2 ** 20), seq: 0 });
      const c = await Conn.open(port);
      c.socket.pause();
      c.send({ command: 'qpop', key: 'none', block: true, timeout: 1, seq: 'pop' });
      for (let i = 0; i < 16; i++) c.send({ command: 'get', key: 'big', seq: `get${i}` });
      await sleep(2500);
      c.socket.resume();
      await sleep(3000);
      const pop = c.frames.find((f) => f.seq === 'pop');
      return `timeout: blocked qpop timing out while the send buffer is full -> ${pop ? `answered (value ${JSON.stringify(pop.value)})` : 'answer lost'}`;
    } finally {
      await stopChild(child);
    }
  },
};

(async () => {
  const which = process.argv.slice(2);
  console.log(`bench/dispatcher/hostile — ${machine()}`);
  for (const [name, probe] of Object.entries(probes)) {
    if (which.length && !which.includes(name)) continue;
    console.log(await probe());
  }
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
