/*
 * One measurement of bench/dispatcher, in its own process so each starts with a fresh heap:
 *   load.ts pubsub|setget beyod|redis <port> <seconds> <subscribers>
 * Prints one JSON line. The same Node load drives both servers: the dispatcher Client for
 * beyod, ioredis for Redis.
 */
import { Client } from '@beyod/dispatcher';
import Redis from 'ioredis';

const [kind, impl, portArg, secondsArg, subsArg] = process.argv.slice(2);
const port = Number(portArg);
const seconds = Number(secondsArg ?? 5);
const SUBSCRIBERS = Number(subsArg ?? 50);
const WARMUP_MS = 1000;
/** Messages published and not yet delivered to every subscriber (end-to-end flow control). */
const PUB_WINDOW = 100;
const KV_CLIENTS = 10;
/** Requests in flight per client in the set/get runs. */
const KV_WINDOW = 32;
const CHANNEL = 'bench';
const PAYLOAD = 64;

/** What the load needs from either server. */
interface Conn {
  publish(channel: string, payload: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  close(): Promise<void>;
}

async function beyodConn(onMessage?: (payload: string) => void): Promise<Conn> {
  const c = new Client({
    target: `tcp://127.0.0.1:${port}`,
    reconnectInterval: 0,
    requestTimeout: 60,
    defaultChannel: onMessage && CHANNEL,
  });
  if (onMessage) c.on('message', (e) => onMessage(e.message.value as string));
  await c.connect();
  return {
    publish: (ch, p) => c.publish(ch, p),
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    close: () => c.close(),
  };
}

async function redisConn(onMessage?: (payload: string) => void): Promise<Conn> {
  // auto-pipelining batches the commands of one tick into one write, as the dispatcher Client's cork does
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableAutoPipelining: true });
  await r.connect();
  if (onMessage) {
    r.on('message', (_ch: string, m: string) => onMessage(m));
    await r.subscribe(CHANNEL);
  }
  return {
    publish: (ch, p) => r.publish(ch, p),
    set: (k, v) => r.set(k, v),
    get: (k) => r.get(k),
    close: async () => {
      r.disconnect();
    },
  };
}

const connect = impl === 'redis' ? redisConn : beyodConn;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A payload carrying its send time, padded to PAYLOAD bytes (the same bytes for both servers). */
function payload(): string {
  return `${performance.now().toFixed(3)}:`.padEnd(PAYLOAD, 'x');
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
}

async function pubsub(): Promise<Record<string, number>> {
  let published = 0;
  let delivered = 0;
  let running = true;
  let sampling = false;
  const latencies: number[] = [];
  let started = false;
  const pub = await connect();
  const pump = () => {
    while (running && started && published - delivered / SUBSCRIBERS < PUB_WINDOW) {
      published++;
      pub.publish(CHANNEL, payload()).catch(fail);
    }
  };
  const subs: Conn[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    // latency is sampled on the first and the last subscriber the server writes to
    const sample = i === 0 || i === SUBSCRIBERS - 1;
    subs.push(
      await connect((p) => {
        delivered++;
        if (sample && sampling) latencies.push(performance.now() - parseFloat(p));
        if (delivered % SUBSCRIBERS === 0) pump();
      }),
    );
  }
  started = true;
  pump();
  await sleep(WARMUP_MS);
  const d0 = delivered;
  const t0 = performance.now();
  sampling = true;
  await sleep(seconds * 1000);
  const d1 = delivered;
  const t1 = performance.now();
  sampling = false;
  running = false;
  await sleep(200);
  await Promise.all([...subs, pub].map((c) => c.close()));
  const sorted = Float64Array.from(latencies).sort();
  return {
    deliveredPerSec: (d1 - d0) / ((t1 - t0) / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    samples: sorted.length,
    deliveredTotal: delivered,
  };
}

/** KV_CLIENTS clients, each keeping KV_WINDOW requests of `op` in flight; completions per second. */
let kvTotal = 0;
async function closedLoop(clients: Conn[], op: (c: Conn, i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let running = true;
  const issue = (c: Conn, i: number): void => {
    op(c, i).then(() => {
      done++;
      kvTotal++;
      if (running) issue(c, i + KV_WINDOW);
    }, fail);
  };
  for (const c of clients) for (let w = 0; w < KV_WINDOW; w++) issue(c, w);
  await sleep(WARMUP_MS);
  const d0 = done;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const rate = (done - d0) / ((performance.now() - t0) / 1000);
  running = false;
  await sleep(200);
  return rate;
}

async function setget(): Promise<Record<string, number>> {
  const clients: Conn[] = [];
  for (let i = 0; i < KV_CLIENTS; i++) clients.push(await connect());
  const value = 'v'.repeat(PAYLOAD);
  const set = await closedLoop(clients, (c, i) => c.set(`key:${i % 1000}`, value));
  const get = await closedLoop(clients, (c, i) => c.get(`key:${i % 1000}`));
  await Promise.all(clients.map((c) => c.close()));
  return { setPerSec: set, getPerSec: get, opsTotal: kvTotal };
}

function fail(e: unknown): never {
  console.error(e);
  process.exit(1);
}

(kind === 'pubsub' ? pubsub() : setget()).then((r) => {
  console.log(JSON.stringify(r));
  process.exit(0);
}, fail);
