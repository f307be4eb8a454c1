/*
 * Many servers, end to end, on each backend: three cluster-push servers (serverId 1, 2, 3; two
 * workers each) started through the real CLI, every worker subscribed to its GPID through
 * createClient({ target: DISPATCHER_TARGET }); push.ts pushes to the six GPIDs and each message
 * must arrive at exactly that process — again after kill -9 of a worker, and after kill -9 of a
 * dispatcher process (three beyod dispatchers) or of a Redis Cluster master (replica promoted).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gpidOf } from '@beyod/core';
import { type ShardedClient, createClient } from '@beyod/dispatcher';
import { redis } from '@beyod/protocols';
import { Cleanup, until } from 'test-helpers';
import { type Running, portOf, startExample } from '../../../packages/cli/test/harness';
import { RedisCluster, describeWithRedisCluster } from '../../../packages/protocols/test/redisCluster';
import { RedisServer, describeWithRedis } from '../../../packages/protocols/test/redisServer';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const REGISTER = path.resolve(__dirname, '../../../packages/cli/register.js');
const PUSH = path.resolve(__dirname, '../scripts/push.ts');

/** Run scripts/push.ts: the stdout lines, and whether every GPID had a subscriber. */
async function push(gpids: number[], message: string, target: string): Promise<{ ok: boolean; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', REGISTER, PUSH, gpids.join(','), message, target]);
    return { ok: true, stdout };
  } catch (e) {
    return { ok: false, stdout: String((e as { stdout?: string }).stdout ?? '') + String((e as Error).message) };
  }
}

interface Worker {
  serverId: number;
  workerId: number;
  gpid: number;
  pid: number;
  run: Running;
}

type App = Awaited<ReturnType<typeof startExample>>;

async function startServers(target: string): Promise<App[]> {
  return Promise.all(
    [1, 2, 3].map((serverId) =>
      startExample('cluster-push', { DISPATCHER_TARGET: target, SERVER_ID: String(serverId), WORKER_NUM: '2' }, cleanup),
    ),
  );
}

async function workersOf(apps: App[]): Promise<Worker[]> {
  const out: Worker[] = [];
  for (const [i, app] of apps.entries()) {
    const s = await app.status();
    for (const w of s.workers) out.push({ serverId: i + 1, workerId: w.workerId, gpid: w.gpid, pid: w.pid, run: app.run });
  }
  return out;
}

const subscribedPids = (apps: App[]) =>
  new Set(
    apps.flatMap((a) =>
      a.run
        .logs()
        .filter((l) => String(l.msg).startsWith('subscribed to my GPID'))
        .map((l) => l.pid),
    ),
  );

/** The log lines of a delivered value, across the three servers. */
const arrivals = (apps: App[], value: string) => apps.flatMap((a) => a.run.logs().filter((l) => l.value === value));

/**
 * Push `hello-<round>` to every worker's GPID, then `end-<round>`: once each end arrived, each
 * hello must have arrived exactly once (one publisher, one channel: in order), at that worker.
 */
async function pushToEach(apps: App[], workers: Worker[], target: string, round: string, retry = false): Promise<void> {
  const gpids = workers.map((w) => w.gpid);
  if (retry) {
    // after a server was lost, the first pushes may find nobody yet: at most once, no retries inside
    await until(async () => (await push(gpids, `probe-${round}`, target)).ok, 30000, `pushes reach all 6 workers (${round})`);
  }
  const hello = await push(gpids, `hello-${round}`, target);
  expect(hello).toMatchObject({ ok: true });
  for (const g of gpids) expect(hello.stdout).toContain(`delivered to 1 subscriber(s) of ${g}`);
  await push(gpids, `end-${round}`, target);
  await until(() => arrivals(apps, `end-${round}`).length === 6, 10000, `end-${round} at 6 workers`);
  const got = arrivals(apps, `hello-${round}`);
  expect(got).toHaveLength(6);
  for (const w of workers) {
    const mine = got.filter((l) => l.gpid === w.gpid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ pid: w.pid, workerId: w.workerId, msg: `message on channel ${w.gpid}` });
  }
}

/** Start the servers on `target`, push to each worker, kill -9 one worker and push again. */
async function scenario(target: string): Promise<{ apps: App[]; workers: Worker[] }> {
  const apps = await startServers(target);
  let workers = await workersOf(apps);
  expect(workers.map((w) => w.gpid).sort((a, b) => a - b)).toEqual(
    [1, 2, 3].flatMap((s) => [gpidOf(s, 1), gpidOf(s, 2)]).sort((a, b) => a - b),
  );
  await until(() => workers.every((w) => subscribedPids(apps).has(w.pid)), 20000, 'every worker subscribed');
  await pushToEach(apps, workers, target, 'first');

  // kill -9 worker 1 of server 2: it comes back with the same GPID, in a new process
  const victim = workers.find((w) => w.serverId === 2 && w.workerId === 1)!;
  process.kill(victim.pid, 'SIGKILL');
  workers = await until(
    async () => {
      const now = await workersOf(apps);
      const back = now.find((w) => w.gpid === victim.gpid);
      return back && back.pid !== victim.pid && subscribedPids(apps).has(back.pid) ? now : undefined;
    },
    20000,
    'worker 1 of server 2 back and subscribed',
  );
  expect(workers.find((w) => w.gpid === victim.gpid)!.pid).not.toBe(victim.pid);
  await pushToEach(apps, workers, target, 'after-worker-kill');
  return { apps, workers };
}

describe('cluster-push on 3 servers x 2 workers, through the CLI', () => {
  it('one beyod dispatcher', async () => {
    const d = await startExample('dispatcher', { DISPATCHER_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
    await scenario(`tcp://127.0.0.1:${portOf(await d.status())}`);
  }, 120000);

  it('three beyod dispatchers, one of them killed -9', async () => {
    const ds = await Promise.all([1, 2, 3].map(() => startExample('dispatcher', { DISPATCHER_LISTEN: 'tcp://127.0.0.1:0' }, cleanup)));
    const urls = await Promise.all(ds.map(async (d) => `tcp://127.0.0.1:${portOf(await d.status())}`));
    const target = urls.join(',');
    const { apps, workers } = await scenario(target);
    // kill the dispatcher that holds server 1 worker 1's channel: its subscriptions go to the others
    const probe = createClient({ target, reconnectInterval: 0 }) as ShardedClient;
    await probe.connect();
    const holder = probe.targetOf(workers[0]!.gpid);
    await probe.close();
    ds[urls.indexOf(holder)]!.run.kill();
    await pushToEach(apps, workers, target, 'after-dispatcher-kill', true);
  }, 150000);
});

describeWithRedis('cluster-push on 3 servers x 2 workers over Redis', () => {
  it('redis-server', async () => {
    const server = cleanup.add(await RedisServer.start(), (s) => s.dispose());
    await scenario(`redis://127.0.0.1:${server.port}?prefix=push`);
  }, 120000);
});

describeWithRedisCluster('cluster-push on 3 servers x 2 workers over Redis Cluster', () => {
  it('Redis Cluster, one master killed -9 and its replica promoted', async () => {
    const cluster = cleanup.add(await RedisCluster.start({ masters: 3, replicas: 1, nodeTimeout: 1000 }), (c) => c.dispose());
    const target = `redis+cluster://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}?prefix=push`;
    const { apps, workers } = await scenario(target);
    // the master holding server 3 worker 2's channel
    const gpid = workers.find((w) => w.serverId === 3 && w.workerId === 2)!.gpid;
    const master = await cluster.masterOf(redis.hashSlot(`push:c:${gpid}`));
    await cluster.killMaster(master);
    await pushToEach(apps, workers, target, 'after-master-kill', true);
  }, 150000);
});
