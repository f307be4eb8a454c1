/*
 * One measurement: `client` (beyod | ioredis | ioredis-auto, i.e. with enableAutoPipelining) on `conns` connections, each keeping `window`
 * commands in flight (half SET, half GET of 32-byte values over 1,000 keys), for `seconds`
 * after a one-second warm-up. Prints {"ops": completed commands, "seconds": measured time,
 * "cpu": this process's CPU seconds in that time} — CPU per command is the steadier figure on a
 * busy machine.
 * Each measurement runs in its own process so neither client warms the JIT or heap of the other.
 */
import { redis } from '@beyod/protocols';
import { Redis } from 'ioredis';

const [client, portArg, connsArg = '1', windowArg = '100', secondsArg = '5'] = process.argv.slice(2);
const port = Number(portArg);
const conns = Number(connsArg);
const window = Number(windowArg);
const seconds = Number(secondsArg);
const VALUE = 'v'.repeat(32);
const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);

interface Commands {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

async function open(): Promise<{ c: Commands; close: () => Promise<unknown> }> {
  if (client === 'beyod') {
    const c = new redis.Client({ target: `tcp://127.0.0.1:${port}` });
    await c.connect();
    return { c, close: () => c.close() };
  }
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableAutoPipelining: client === 'ioredis-auto' });
  await c.connect();
  return { c, close: () => c.quit() };
}

let ops = 0;
let running = true;

/** A window slot: when its command completes, the next one goes out. */
function slot(c: Commands, n: number): void {
  const key = KEYS[n % KEYS.length]!;
  const p = n & 1 ? c.get(key) : c.set(key, VALUE);
  p.then(
    () => {
      ops++;
      if (running) slot(c, n + window);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

(async () => {
  const clients = await Promise.all(Array.from({ length: conns }, open));
  for (const { c } of clients) for (let i = 0; i < window; i++) slot(c, i);
  await new Promise((r) => setTimeout(r, 1000));
  const start = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const before = ops;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const done = ops - before;
  const cpu1 = process.cpuUsage(cpu0);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  running = false;
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all(clients.map((x) => x.close()));
  console.log(JSON.stringify({ ops: done, seconds: elapsed, cpu: (cpu1.user + cpu1.system) / 1e6 }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
