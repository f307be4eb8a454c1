/* The backends of the dispatcher Client API, started for the conformance suite: real servers on loopback. */
import type { Listener } from '@beyod/core';
import { type CreateClientOptions, type DispatcherClient, type Handler, createClient } from '@beyod/dispatcher';
import { redis } from '@beyod/protocols';
import { Cleanup } from 'test-helpers';
import { RedisCluster, ask } from '../../protocols/test/redisCluster';
import { RedisServer } from '../../protocols/test/redisServer';
import { startDispatcher } from './helpers';

export type BackendName = 'dispatcher' | 'sharded' | 'redis' | 'cluster';

/**
 * Where the backends differ by design, each documented in docs/scaling.md ("What each backend
 * promises"); the suite asserts the documented behaviour for each.
 */
export interface Differences {
  /** qpush answers 0 when a blocked pop took the item at once (dispatcher); Redis counts it (1). */
  pushToWaiterAnswersZero: boolean;
  /** Keys and channels are scoped by a prefix, so two applications can share the server. */
  prefixScoped: boolean;
  /** Hash and queues survive losing the server that held them (Redis Cluster: the replica). */
  dataSurvivesServerLoss: boolean;
  /** `source` of a delivery: the publisher's ip:port (dispatcher) or hostname:pid (Redis). */
  source: RegExp;
}

/** A running backend: how to reach it, how to break it. */
export interface RunningBackend {
  name: BackendName;
  differences: Differences;
  /** Target for createClient; `app` selects the application prefix on Redis. */
  target(app: string): string;
  /** Blocked pops the server(s) hold right now. */
  blocked(): Promise<number>;
  /**
   * Take down the server that holds channel `key` of application `app` and bring the service
   * back: a dispatcher restarts on its port, redis-server restarts (without persistence), a
   * cluster master is killed -9 and its replica promoted.
   */
  lose(key: string, app: string): Promise<void>;
  dispose(): Promise<void>;
}

const DISPATCHER: Differences = {
  pushToWaiterAnswersZero: true,
  prefixScoped: false,
  dataSurvivesServerLoss: false,
  source: /^127\.0\.0\.1:\d+$/,
};
const REDIS: Differences = { pushToWaiterAnswersZero: false, prefixScoped: true, dataSurvivesServerLoss: false, source: /^.+:\d+$/ };

export async function startBackend(name: BackendName): Promise<RunningBackend> {
  switch (name) {
    case 'dispatcher':
    case 'sharded':
      return startDispatchers(name, name === 'dispatcher' ? 1 : 3);
    case 'redis':
      return startRedis();
    case 'cluster':
      return startCluster();
  }
}

async function startDispatchers(name: BackendName, n: number): Promise<RunningBackend> {
  const cleanup = new Cleanup();
  const shards: Array<{ listener: Listener; handler: Handler; port: number }> = [];
  for (let i = 0; i < n; i++) shards.push(await startDispatcher(cleanup));
  const urls = () => shards.map((s) => `tcp://127.0.0.1:${s.port}`);
  return {
    name,
    differences: DISPATCHER,
    target: () => urls().join(','),
    blocked: async () => shards.reduce((sum, s) => sum + s.handler.getStats().blocked, 0),
    async lose(key) {
      // the dispatcher the key is placed on, as a client that sees all of them places it
      const probe = createClient({ target: urls(), reconnectInterval: 0 });
      await probe.connect();
      const at = 'targetOf' in probe ? (probe as unknown as { targetOf(k: string): string }).targetOf(key) : urls()[0]!;
      await probe.close();
      const i = urls().indexOf(at);
      const old = shards[i]!;
      await old.listener.stop(0);
      shards[i] = await startDispatcher(cleanup, { port: old.port });
    },
    dispose: () => cleanup.run(),
  };
}

async function startRedis(): Promise<RunningBackend> {
  const server = await RedisServer.start();
  return {
    name: 'redis',
    differences: REDIS,
    target: (app) => `redis://127.0.0.1:${server.port}?prefix=${app}`,
    blocked: async () => Number(/blocked_clients:(\d+)/.exec(await ask<string>(server.port, 'INFO', 'clients'))?.[1]),
    lose: () => server.restart(),
    dispose: () => server.dispose(),
  };
}

async function startCluster(): Promise<RunningBackend> {
  const cluster = await RedisCluster.start({ masters: 3, replicas: 1, nodeTimeout: 1000 });
  return {
    name: 'cluster',
    differences: { ...REDIS, dataSurvivesServerLoss: true },
    target: (app) => `redis+cluster://${cluster.alive.map((n) => `127.0.0.1:${n.port}`).join(',')}?prefix=${app}`,
    async blocked() {
      let n = 0;
      for (const m of new Set((await cluster.slotMap()).masters)) {
        n += Number(/blocked_clients:(\d+)/.exec(await ask<string>(Number(String(m).split(':')[1]), 'INFO', 'clients'))?.[1]);
      }
      return n;
    },
    async lose(key, app) {
      // the master of the channel's shard (RedisDispatcherClient names it <prefix>:c:<key>)
      const master = await cluster.masterOf(redis.hashSlot(`${app}:c:${key}`));
      // what was written is on the replica before the master dies
      await ask(master.port, 'WAIT', '1', '2000');
      await cluster.killMaster(master);
    },
    dispose: () => cluster.dispose(),
  };
}

/** A client of `backend` for application `app`, closed by `cleanup`. */
export function clientOf(
  backend: RunningBackend,
  app: string,
  cleanup: Cleanup,
  options: Partial<CreateClientOptions> = {},
): DispatcherClient {
  const c = createClient({ target: backend.target(app), reconnectInterval: 0.1, requestTimeout: 10, ...options });
  c.on('error', () => {}); // refused reconnects while a server restarts
  cleanup.add(c, (x) => x.close());
  return c;
}
