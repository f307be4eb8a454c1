/*
 * Push a message to workers of the cluster, by GPID:
 *   node -r @beyod/cli/register examples/cluster-push/scripts/push.ts <gpid>[,<gpid>...] <message> [target]
 * The target is any dispatcher target (tcp://..., several, redis://..., redis+cluster://...),
 * default $DISPATCHER_TARGET or tcp://127.0.0.1:2491.
 */
import { gpidOf } from '@beyod/core';
import { createClient } from '@beyod/dispatcher';

/** Publish `value` on each GPID's channel; resolves with how many subscribers got it, per GPID (0 = no such worker online). */
export async function pushToAll(target: string, gpids: number[], value: unknown, token?: string): Promise<number[]> {
  const client = createClient({ target, token, reconnectInterval: 0, requestTimeout: 5 });
  try {
    await client.connect();
    return await Promise.all(gpids.map(async (g) => (await client.publish(g, value)).published ?? 0));
  } finally {
    await client.close();
  }
}

/** Publish `value` on channel `gpid`; resolves with how many subscribers got it (0 = no such worker online). */
export async function pushTo(target: string, gpid: number, value: unknown, token?: string): Promise<number> {
  return (await pushToAll(target, [gpid], value, token))[0] ?? 0;
}

if (require.main === module) {
  const [gpidArg, message, targetArg] = process.argv.slice(2);
  const gpids = String(gpidArg).split(',').map(Number);
  if (!gpids.every((g) => Number.isSafeInteger(g) && g > 0) || message === undefined) {
    console.error(`usage: push.ts <gpid>[,<gpid>...] <message> [target]   (GPID of serverId 174, worker 1 = ${gpidOf(174, 1)})`);
    process.exit(2);
  }
  const target = targetArg ?? process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491';
  pushToAll(target, gpids, message, process.env.DISPATCHER_TOKEN).then(
    (counts) => {
      for (const [i, n] of counts.entries()) {
        const gpid = gpids[i];
        console.log(n > 0 ? `delivered to ${n} subscriber(s) of ${gpid}` : `nobody subscribed to ${gpid}: is that worker running?`);
      }
      process.exitCode = counts.every((n) => n > 0) ? 0 : 1;
    },
    (e: Error) => {
      console.error(`${target}: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
