/*
 * Push a message to one worker of the cluster, by its GPID:
 *   node -r @beyod/cli/register examples/cluster-push/scripts/push.ts <gpid> <message> [target]
 */
import { gpidOf } from '@beyod/core';
import { Client } from '@beyod/dispatcher';

/** Publish `value` on channel `gpid`; resolves with how many subscribers got it (0 = no such worker online). */
export async function pushTo(target: string, gpid: number, value: unknown, token?: string): Promise<number> {
  const client = new Client({ target, token, reconnectInterval: 0, requestTimeout: 5 });
  try {
    await client.connect();
    return (await client.publish(gpid, value)).published ?? 0;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  const [gpidArg, message, targetArg] = process.argv.slice(2);
  const gpid = Number(gpidArg);
  if (!Number.isSafeInteger(gpid) || gpid <= 0 || message === undefined) {
    console.error(`usage: push.ts <gpid> <message> [tcp://host:port]   (GPID of serverId 174, worker 1 = ${gpidOf(174, 1)})`);
    process.exit(2);
  }
  const target = targetArg ?? process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491';
  pushTo(target, gpid, message, process.env.DISPATCHER_TOKEN).then(
    (n) => {
      console.log(n > 0 ? `delivered to ${n} subscriber(s) of ${gpid}` : `nobody subscribed to ${gpid}: is that worker running?`);
      process.exitCode = n > 0 ? 0 : 1;
    },
    (e: Error) => {
      console.error(`${target}: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
