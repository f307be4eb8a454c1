/*
 * The raw load generator of bench/dispatcher: one program drives both servers, with requests
 * encoded once before the run and pipelined on plain sockets — no client library in the measured
 * path on either side. Subscribers count frames (beyod: by hopping over the length headers;
 * Redis: every delivery of a run has the same size, so bytes / size). The server's own CPU is read
 * from /proc/<pid>/stat at the start and the end of the measured window.
 *
 *   load.ts <scenario> beyod|redis <port> <server pid> <seconds> [payload bytes]
 *   scenarios: fanout:<subscribers>   1 publisher, one channel, that many subscribers
 *              many:<publishers>      that many publishers, each on its own channel with 1 subscriber
 *              set | get              <KV_CONNS> connections, <KV_WINDOW> requests in flight each
 * Prints one JSON line: { ops, seconds, cpu } (ops = deliveries, or answers for set/get).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

type Impl = 'beyod' | 'redis';

const [scenarioArg = 'fanout:20', implArg = 'beyod', portArg, pidArg, secondsArg = '5', payloadArg = '64'] = process.argv.slice(2);
const impl = implArg as Impl;
const port = Number(portArg);
const serverPid = Number(pidArg);
const seconds = Number(secondsArg);
const PAYLOAD = 'p'.repeat(Number(payloadArg));
const WARMUP_MS = 1000;
/** Publish requests written at once. */
const BATCH = 64;
/** Messages published and not yet delivered to every subscriber, per publisher (end-to-end window;
 * large enough that neither server waits for the generator). */
const PUB_WINDOW = Number(process.env.BENCH_PUB_WINDOW ?? 4096);
const KV_CONNS = 10;
const KV_WINDOW = 256;
const KV_KEYS = 1000;

// ---- encoding (done once, before the run) ----

function frameJson(o: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(o));
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32BE(4 + body.length, 0);
  body.copy(b, 4);
  return b;
}

function resp(...args: string[]): Buffer {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
}

const encode = {
  subscribe: (ch: string) => (impl === 'beyod' ? frameJson({ command: 'subscribe', key: ch, seq: 1 }) : resp('SUBSCRIBE', ch)),
  publish: (ch: string) =>
    impl === 'beyod' ? frameJson({ command: 'publish', key: ch, value: PAYLOAD, seq: 1 }) : resp('PUBLISH', ch, PAYLOAD),
  set: (k: string) => (impl === 'beyod' ? frameJson({ command: 'set', key: k, value: PAYLOAD, seq: 1 }) : resp('SET', k, PAYLOAD)),
  get: (k: string) => (impl === 'beyod' ? frameJson({ command: 'get', key: k, seq: 1 }) : resp('GET', k)),
};

/** Bytes of one Redis pub/sub delivery on `ch` (all of a run's deliveries on a channel have it). */
const redisMessageSize = (ch: string) => resp('message', ch, PAYLOAD).length;

// ---- counting what comes back ----

/**
 * Counts the frames a socket receives. In the measured runs every frame a socket gets has the
 * same size (same key length, value, source), for both servers, so counting is bytes / size —
 * the same O(1) per chunk on both sides. `fixed` = -1 learns the size from the next frame's
 * length header (beyod); 0 hops over the headers (used before the size is known).
 */
class Counter {
  frames = 0;
  private bytes = 0;
  /** beyod: bytes still to skip of the current frame; 0 = at a header. */
  private skip = 0;
  private header = Buffer.alloc(4);
  private headerHave = 0;
  onFrames: ((c: Counter) => void) | undefined;

  constructor(
    readonly socket: net.Socket,
    private fixed: number,
  ) {
    socket.on('data', (d: Buffer) => this.data(d));
  }

  /** From now on count frames of `size` bytes (Redis), after what was received so far. */
  setFixed(size: number): void {
    this.fixed = size;
    this.bytes = 0;
    this.frames = 0;
  }

  private data(d: Buffer): void {
    const before = this.frames;
    if (this.fixed === -1 && d.length >= 4) this.fixed = d.readUInt32BE(0);
    if (this.fixed > 0) {
      this.bytes += d.length;
      this.frames = Math.floor(this.bytes / this.fixed);
    } else {
      let i = 0;
      const n = d.length;
      while (i < n) {
        if (this.skip > 0) {
          const k = Math.min(this.skip, n - i);
          this.skip -= k;
          i += k;
          if (this.skip === 0) this.frames++;
          continue;
        }
        if (this.headerHave === 0 && n - i >= 4) {
          this.skip = d.readUInt32BE(i);
        } else {
          const k = Math.min(4 - this.headerHave, n - i);
          d.copy(this.header, this.headerHave, i, i + k);
          this.headerHave += k;
          i += k;
          if (this.headerHave < 4) break;
          this.headerHave = 0;
          this.skip = this.header.readUInt32BE(0) - 4;
          if (this.skip === 0) this.frames++;
          continue;
        }
      }
    }
    if (this.frames !== before) this.onFrames?.(this);
  }
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** CPU seconds (user + system) the server used so far. */
function serverCpu(): number {
  const f = fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Count `total()` over the measured window, with the server's CPU over the same window. */
async function window(total: () => number, stop: () => void): Promise<{ ops: number; seconds: number; cpu: number }> {
  await sleep(WARMUP_MS);
  const n0 = total();
  const c0 = serverCpu();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const n1 = total();
  const c1 = serverCpu();
  const t1 = performance.now();
  stop();
  return { ops: n1 - n0, seconds: (t1 - t0) / 1000, cpu: c1 - c0 };
}

/** A subscriber of `ch`, counting deliveries once its subscription is confirmed. */
async function subscriber(ch: string): Promise<Counter> {
  const s = await connect();
  const c = new Counter(s, impl === 'redis' ? resp('subscribe', ch).length + `:1\r\n`.length : 0);
  s.write(encode.subscribe(ch));
  await until(() => c.frames >= 1, 5000, `subscribe ${ch}`);
  c.setFixed(impl === 'redis' ? redisMessageSize(ch) : -1);
  return c;
}

/**
 * Publishers writing BATCH pre-encoded publishes at a time while fewer than PUB_WINDOW of their
 * messages wait to be delivered to all their subscribers. Deliveries counted by the subscribers.
 */
async function pubsub(publishers: number, subscribersPerChannel: number): Promise<void> {
  const channels = Array.from({ length: publishers }, (_, i) => (publishers === 1 ? 'bench' : `bench:${i}`));
  const subs: Counter[][] = [];
  for (const ch of channels) {
    const list: Counter[] = [];
    for (let i = 0; i < subscribersPerChannel; i++) list.push(await subscriber(ch));
    subs.push(list);
  }
  let running = true;
  const pubs = await Promise.all(
    channels.map(async (ch, p) => {
      const s = await connect();
      // answers are read only to keep the socket drained
      s.on('data', () => {});
      const batch = Buffer.concat(Array.from({ length: BATCH }, () => encode.publish(ch)));
      const mine = subs[p] as Counter[];
      let published = 0;
      const pump = () => {
        if (!running) return;
        // the slowest subscriber of this channel bounds what is in flight
        let delivered = Infinity;
        for (const c of mine) if (c.frames < delivered) delivered = c.frames;
        while (published - delivered < PUB_WINDOW) {
          s.write(batch);
          published += BATCH;
        }
      };
      for (const c of mine) c.onFrames = pump;
      return pump;
    }),
  );
  for (const pump of pubs) pump();
  const all = subs.flat();
  const r = await window(
    () => all.reduce((n, c) => n + c.frames, 0),
    () => (running = false),
  );
  console.log(JSON.stringify(r));
  process.exit(0);
}

/** key:000 .. key:999: one length, so every answer of a run has one size. */
const kvKey = (k: number) => `key:${String(k).padStart(3, '0')}`;

/** KV_CONNS connections, each keeping KV_WINDOW requests of one kind in flight. */
async function kv(kind: 'set' | 'get'): Promise<void> {
  if (kind === 'get') {
    // fill the keys first, so every GET finds its value
    const s = await connect();
    const c = new Counter(s, impl === 'redis' ? 5 : 0);
    for (let k = 0; k < KV_KEYS; k++) s.write(encode.set(kvKey(k)));
    await until(() => c.frames >= KV_KEYS, 10000, 'filling the keys');
    s.destroy();
  }
  const requests = Array.from({ length: KV_KEYS }, (_, k) => (kind === 'set' ? encode.set(kvKey(k)) : encode.get(kvKey(k))));
  // every answer of a run has the same size (the keys have the same length)
  const answerSize = impl === 'redis' ? (kind === 'set' ? 5 : `$${PAYLOAD.length}\r\n${PAYLOAD}\r\n`.length) : -1;
  // requests are written in batches of BATCH consecutive keys, pre-joined
  const batches: Buffer[] = [];
  for (let k = 0; k < KV_KEYS; k += BATCH) batches.push(Buffer.concat(requests.slice(k, k + BATCH)));
  let running = true;
  const counters: Counter[] = [];
  for (let i = 0; i < KV_CONNS; i++) {
    const s = await connect();
    const c = new Counter(s, answerSize);
    let sent = 0;
    let next = i % batches.length;
    const pump = () => {
      while (running && sent - c.frames < KV_WINDOW) {
        const b = batches[next] as Buffer;
        next = (next + 1) % batches.length;
        s.write(b);
        sent += b === batches[batches.length - 1] ? KV_KEYS - BATCH * (batches.length - 1) : BATCH;
      }
    };
    c.onFrames = pump;
    counters.push(c);
    pump();
  }
  const r = await window(
    () => counters.reduce((n, c) => n + c.frames, 0),
    () => (running = false),
  );
  console.log(JSON.stringify(r));
  process.exit(0);
}

const [kind, nArg] = scenarioArg.split(':');
const n = Number(nArg ?? 1);
const run = kind === 'fanout' ? pubsub(1, n) : kind === 'many' ? pubsub(n, 1) : kv(kind as 'set' | 'get');
run.catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
