import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Cleanup, RawClient, tmpDir, until } from 'test-helpers';
import { ask, beyod, freePort, portOf, startFixture, status } from './harness';
import { type Exposition, parseExposition, sum } from './prometheus';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer within 5 s`)));
  });
}

async function scrape(port: number): Promise<Exposition> {
  const r = await get(port, '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(r.body);
}

/** Counters (and only counters) never go back between two scrapes, series by series. */
function expectNoCounterWentBack(before: Exposition, after: Exposition): void {
  for (const [key, s] of before.samples) {
    if (before.types.get(s.name) !== 'counter') continue;
    const now = after.samples.get(key);
    if (now && now.value < s.value) throw new Error(`${key} went back from ${s.value} to ${now.value}`);
  }
}

async function startWithMetrics(extra: Record<string, string> = {}) {
  const metricsPort = await freePort();
  const started = await startFixture(cleanup, { BEYOD_TEST_WORKERS: '2', BEYOD_TEST_METRICS: `tcp://127.0.0.1:${metricsPort}`, ...extra });
  return { ...started, metricsPort };
}

it('scraped during a rolling reload: every scrape is valid, no counter goes back, /ready stays 200, and the figures add up', async () => {
  const { env, metricsPort } = await startWithMetrics();
  expect((await get(metricsPort, '/ready')).status).toBe(200);
  const s = await status(env);
  const port = portOf(s);
  let bytes = 0;
  const send = async (line: string) => {
    bytes += Buffer.byteLength(`${line}\n`);
    await ask(port, line);
  };
  for (let i = 0; i < 10; i++) await send(`before ${i}`);
  // one connection stays open across the reload: what it sent before is counted once
  const held = await RawClient.connect({ port, host: '127.0.0.1' });
  cleanup.add(held, (c) => c.destroy());
  held.write('held\n');
  bytes += 5;
  await held.waitLines(1);
  const first = await until(
    async () => {
      const e = await scrape(metricsPort);
      return sum(e, 'beyod_messages_received_total') === 11 ? e : undefined;
    },
    5000,
    '11 messages counted',
  );
  expect(sum(first, 'beyod_received_bytes_total', { listener: 'who' })).toBe(bytes);
  expect(sum(first, 'beyod_connections_accepted_total')).toBe(11);
  expect(sum(first, 'beyod_connections')).toBe(1);
  expect(sum(first, 'beyod_worker_ready')).toBe(2);
  expect(sum(first, 'beyod_workers')).toBe(2);

  // reload, scraping all along
  const reloading = beyod(['reload'], env);
  let done = false;
  void reloading.then(() => (done = true));
  const scrapes: Exposition[] = [first];
  const readiness: number[] = [];
  while (!done) {
    scrapes.push(await scrape(metricsPort));
    readiness.push((await get(metricsPort, '/ready')).status);
  }
  expect((await reloading).code).toBe(0);
  for (let i = 1; i < scrapes.length; i++) expectNoCounterWentBack(scrapes[i - 1]!, scrapes[i]!);
  expect(scrapes.length).toBeGreaterThan(2);
  expect(readiness.every((c) => c === 200)).toBe(true); // some worker accepted under every id, all along

  const after = await until(
    async () => {
      const e = await scrape(metricsPort);
      return sum(e, 'beyod_reloads_total') === 1 && sum(e, 'beyod_connections') === 0 ? e : undefined;
    },
    10000,
    'the reload counted and the held connection drained',
  );
  expectNoCounterWentBack(scrapes[scrapes.length - 1]!, after);
  expect(sum(after, 'beyod_messages_received_total')).toBe(11); // the old processes' figures are kept
  expect(sum(after, 'beyod_reload_failures_total')).toBe(0);
  const pids = (await status(env)).workers.map((w) => w.pid);
  expect(pids.some((p) => s.workers.some((w) => w.pid === p))).toBe(false); // new processes
  // new processes add to what the old ones counted
  for (let i = 0; i < 5; i++) await send(`after ${i}`);
  const last = await until(
    async () => {
      const e = await scrape(metricsPort);
      return sum(e, 'beyod_messages_received_total') === 16 ? e : undefined;
    },
    5000,
    '16 messages counted',
  );
  expect(sum(last, 'beyod_received_bytes_total')).toBe(bytes);
  expectNoCounterWentBack(after, last);
});

it('/ready is 503 with the reason while a worker is not ready; respawns are counted; /health stays 200', async () => {
  const { env, runtime, metricsPort } = await startWithMetrics({ BEYOD_TEST_START_TIMEOUT: '4' });
  const s = await status(env);
  const victim = s.workers[1]!;
  fs.writeFileSync(path.join(runtime, `hang-${victim.workerId}`), ''); // its next start hangs in onWorkerStart
  process.kill(victim.pid, 'SIGKILL');
  const notReady = await until(
    async () => {
      const r = await get(metricsPort, '/ready');
      return r.status === 503 ? r : undefined;
    },
    5000,
    '/ready to say 503',
  );
  const body = JSON.parse(notReady.body) as { status: string; reason: string; workers: Array<{ workerId: number; state: string }> };
  expect(body.status).toBe('unavailable');
  expect(body.reason).toMatch(new RegExp(`^worker ${victim.workerId} is (starting|down \\(being re-forked\\))$`));
  expect(body.workers.find((w) => w.workerId === 1)?.state).toBe('ready');
  expect((await get(metricsPort, '/health')).status).toBe(200); // the master is fine: nothing to restart
  const e = await scrape(metricsPort);
  expect(sum(e, 'beyod_worker_ready', { worker: String(victim.workerId) })).toBe(0);
  expect(sum(e, 'beyod_worker_respawns_total', { worker: String(victim.workerId) })).toBe(1);
  // let it start: once the hung start times out, the next one is ready
  fs.rmSync(path.join(runtime, `hang-${victim.workerId}`));
  await until(async () => (await get(metricsPort, '/ready')).status === 200, 20000, '/ready to say 200 again');
  expect(sum(await scrape(metricsPort), 'beyod_worker_ready')).toBe(2);
});

it('the metrics listener answers bad requests and carries on; a port in use stops the start with the key named', async () => {
  const { env, metricsPort } = await startWithMetrics();
  expect((await get(metricsPort, '/nope')).status).toBe(404);
  const post = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: metricsPort, path: '/metrics', method: 'POST', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end('x');
  });
  expect(post).toBe(405);
  const raw = await RawClient.connect({ port: metricsPort, host: '127.0.0.1' });
  cleanup.add(raw, (c) => c.destroy());
  raw.write('\x00\x01garbage that is not HTTP\r\n\r\n');
  await raw.waitClose(5000);
  expect(raw.received.toString()).toMatch(/^HTTP\/1\.1 400 Bad Request/);
  await scrape(metricsPort); // still serving
  expect((await status(env)).workers.every((w) => w.state === 'ready')).toBe(true);

  // a second server with the same metrics address cannot start, and says why
  const otherRuntime = tmpDir('beyod-metrics-');
  cleanup.defer(() => fs.rmSync(otherRuntime, { recursive: true, force: true }));
  const other = await beyod(['start'], { ...env, BEYOD_TEST_RUNTIME: otherRuntime });
  expect(other.code).toBe(1);
  expect(other.stderr).toMatch(
    /components\.server\.metrics: cannot serve metrics on tcp:\/\/127\.0\.0\.1:\d+: the address is already in use/,
  );
});
