/* Print what a dispatcher holds: node -r @beyod/cli/register examples/dispatcher/scripts/stats.ts [target] */
import { Client, type DispatcherStats } from '@beyod/dispatcher';

/** Ask the dispatcher at `target` for its figures. */
export async function dispatcherStats(target: string, token?: string): Promise<DispatcherStats> {
  const client = new Client({ target, token, reconnectInterval: 0, requestTimeout: 5 });
  try {
    await client.connect();
    return (await client.stats()).value as DispatcherStats;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  const target = process.argv[2] ?? process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491';
  dispatcherStats(target, process.env.DISPATCHER_TOKEN).then(
    (s) => console.log(JSON.stringify(s, null, 2)),
    (e: Error) => {
      console.error(`${target}: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
