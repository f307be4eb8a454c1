/*
 * One measurement of bench/scale, in its own process:
 *   load.ts <target> <seconds> <workers> <publishers>
 * The cluster-push workload through the dispatcher Client API (createClient, whatever the
 * backend): `workers` clients each subscribed to its own GPID channel, `publishers` clients
 * publishing to the GPIDs in turn, at most WINDOW messages published and not yet delivered.
 * Prints one JSON line: deliveries/s and publish -> delivery latency p50 / p99 (ms).
 */
import { type DispatcherClient, createClient } from '@beyod/dispatcher';
import { percentile } from '../lib';

const [target, secondsArg, workersArg, publishersArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
const WORKERS = Number(workersArg ?? 32);
const PUBLISHERS = Number(publishersArg ?? 2);
const WARMUP_MS = 1000;
const WINDOW = 256;
const PAYLOAD = 64;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fail = (e: unknown) => {
  console.error(e);
  process.exit(1);
};

async function main(): Promise<void> {
  let published = 0;
  let delivered = 0;
  let running = true;
  let sampling = false;
  const latencies: number[] = [];
  const gpids = Array.from({ length: WORKERS }, (_, i) => ((1 + (i >> 4)) << 16) + (i & 15) + 1);
  const clients: DispatcherClient[] = [];
  const open = async (options: { defaultChannel?: number } = {}) => {
    const c = createClient({ target: target!, reconnectInterval: 0, requestTimeout: 60, ...options });
    clients.push(c);
    await c.connect();
    return c;
  };
  for (const gpid of gpids) {
    const c = await open({ defaultChannel: gpid });
    c.on('message', (e) => {
      delivered++;
      if (sampling && (delivered & 7) === 0) latencies.push(performance.now() - parseFloat(e.message.value as string));
      pump();
    });
  }
  const publishers: DispatcherClient[] = [];
  for (let i = 0; i < PUBLISHERS; i++) publishers.push(await open());
  let next = 0;
  function pump(): void {
    while (running && published - delivered < WINDOW) {
      const i = published++;
      const p = publishers[i % PUBLISHERS]!;
      const payload = `${performance.now().toFixed(3)}:`.padEnd(PAYLOAD, 'x');
      p.publish(gpids[next++ % WORKERS]!, payload).catch(fail);
    }
  }
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
  await sleep(300);
  await Promise.all(clients.map((c) => c.close()));
  console.log(
    JSON.stringify({
      deliveredPerSec: (d1 - d0) / ((t1 - t0) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      deliveredTotal: delivered,
    }),
  );
}

main().catch(fail);
