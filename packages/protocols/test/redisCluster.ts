/* A real Redis Cluster for the tests: N masters (+ replicas) on loopback, made with `redis-cli --cluster create`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redis } from '@beyod/protocols';
import { until } from 'test-helpers';
import { REDIS_SERVER, RedisServer, describeNeeding, freePort, onPath } from './redisServer';

export const REDIS_CLI = onPath('redis-cli');

/** `describe` for suites that need a Redis Cluster (redis-server and redis-cli on PATH). */
export function describeWithRedisCluster(name: string, fn: () => void): void {
  const why = 'redis-server and redis-cli are needed on PATH (apt-get install redis-server)';
  describeNeeding(REDIS_SERVER !== undefined && REDIS_CLI !== undefined, why, name, fn);
}

/** One command to one node, on a connection of its own. */
export async function ask<T = redis.RespValue>(port: number, ...args: string[]): Promise<T> {
  const c = new redis.Client({ target: `tcp://127.0.0.1:${port}`, reconnectInterval: 0, connectTimeout: 2 });
  try {
    await c.connect();
    return await c.call<T>(args[0]!, args.slice(1));
  } finally {
    await c.close();
  }
}

/**
 * A Redis Cluster of `masters` masters, each with `replicas` replicas, every node a
 * redis-server child on free loopback ports (the cluster bus on another free port), with
 * cluster-node-timeout `nodeTimeout` ms so a failover takes about two seconds.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(options: { masters?: number; replicas?: number; nodeTimeout?: number } = {}): Promise<RedisCluster> {
    const { masters = 3, replicas = 1, nodeTimeout = 1000 } = options;
    const count = masters * (1 + replicas);
    const args = async () => [
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(nodeTimeout),
      '--cluster-port', String(await freePort()),
      // a replica takes over whatever its replication offset (the tests kill masters at will)
      '--cluster-replica-validity-factor', '0',
    ]; // prettier-ignore
    const nodes = await Promise.all(Array.from({ length: count }, () => RedisServer.start(args)));
    const cluster = new RedisCluster(nodes);
    try {
      await promisify(execFile)(
        REDIS_CLI as string,
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 20000 },
      );
      await cluster.waitHealthy(20000);
    } catch (e) {
      await cluster.dispose();
      throw e;
    }
    return cluster;
  }

  /** Seed URLs of every node (tcp://127.0.0.1:port). */
  get seeds(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Nodes that are running. */
  get alive(): RedisServer[] {
    return this.nodes.filter((n) => n.pid !== undefined);
  }

  /** The slot map as a running node sees it. */
  async slotMap(): Promise<redis.SlotMap> {
    let last: unknown;
    for (const n of this.alive) {
      try {
        return redis.parseClusterSlots(await ask(n.port, 'CLUSTER', 'SLOTS'), '127.0.0.1');
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }

  /** The node serving `slot` as master. */
  async masterOf(slot: number): Promise<RedisServer> {
    const addr = (await this.slotMap()).masters[slot];
    const node = this.nodes.find((n) => `127.0.0.1:${n.port}` === addr);
    if (!node) throw new Error(`slot ${slot} has no known master (${String(addr)})`);
    return node;
  }

  /**
   * Every running node says cluster_state:ok, every slot is covered, and every master has its
   * replicas attached (so it can fail over).
   */
  async waitHealthy(ms = 20000): Promise<void> {
    await until(
      async () => {
        try {
          for (const n of this.alive) {
            const info = await ask<string>(n.port, 'CLUSTER', 'INFO');
            if (!/cluster_state:ok/.test(info)) return false;
          }
          const map = await this.slotMap();
          if (map.covered !== 16384) return false;
          const masters = new Set(map.masters);
          const replicas = this.alive.length - masters.size;
          if (replicas > 0) {
            for (const m of masters) {
              const repl = await ask<string>(Number(String(m).split(':')[1]), 'INFO', 'replication');
              if (!/connected_slaves:[1-9]/.test(repl)) return false;
              if (!/state=online/.test(repl)) return false;
            }
          }
          return true;
        } catch {
          return false;
        }
      },
      ms,
      'redis cluster healthy',
    );
  }

  /** kill -9 a master, and wait until its replica serves its slots. */
  async killMaster(node: RedisServer, ms = 20000): Promise<void> {
    const addr = `127.0.0.1:${node.port}`;
    await node.stop();
    await until(
      async () => {
        try {
          const map = await this.slotMap();
          return map.covered === 16384 && !map.masters.includes(addr);
        } catch {
          return false;
        }
      },
      ms,
      `a replica of ${addr} promoted`,
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
