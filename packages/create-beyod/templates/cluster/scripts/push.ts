/*
 * Send a line to a device, wherever it is connected:
 *   npm run push -- <device> <text>
 * DISPATCHER=tcp://host:port (default tcp://127.0.0.1:2491) and DISPATCHER_TOKEN reach another dispatcher.
 */
import { Client } from '@beyod/dispatcher';
import { type Location, deviceKey } from '../app/DeviceHandler';

/** Look the device up in the dispatcher's hash and publish to its worker's GPID; false when it is not connected. */
export async function pushToDevice(target: string, device: string, text: string, token?: string): Promise<boolean> {
  const client = new Client({ target, token, reconnectInterval: 0, requestTimeout: 5 });
  try {
    await client.connect();
    const where = (await client.get(deviceKey(device))).value as Location | null;
    if (!where) return false;
    const answer = await client.publish(where.gpid, { conn: where.conn, text });
    return (answer.published ?? 0) > 0;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  const [device, ...words] = process.argv.slice(2);
  if (!device || words.length === 0) {
    console.error('usage: npm run push -- <device> <text>');
    process.exit(2);
  }
  const target = process.env.DISPATCHER ?? 'tcp://127.0.0.1:2491';
  pushToDevice(target, device, words.join(' '), process.env.DISPATCHER_TOKEN || undefined).then(
    (ok) => {
      console.log(ok ? `sent to ${device}` : `${device} is not connected`);
      process.exitCode = ok ? 0 : 1;
    },
    (e: Error) => {
      console.error(`${target}: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
