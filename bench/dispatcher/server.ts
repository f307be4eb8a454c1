/*
 * The beyod dispatcher for bench/dispatcher, in its own process: prints its port, runs until
 * SIGTERM. DISPATCHER_HANDLER / DISPATCHER_PARSER (JSON) set handler / parser options.
 */
import { Listener } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';

(async () => {
  const listener = Object.assign(new Listener(), {
    listen: 'tcp://127.0.0.1:0',
    handler: { class: Handler, ...(JSON.parse(process.env.DISPATCHER_HANDLER ?? '{}') as object) },
    parser: { class: Parser, ...(JSON.parse(process.env.DISPATCHER_PARSER ?? '{}') as object) },
    // like redis' pubsub output buffer: room for bursts before a slow subscriber loses messages
    maxSendBuffer: 32 * 1024 * 1024,
  });
  await listener.start();
  console.log(listener.port);
  process.on('SIGTERM', () => {
    const s = (listener.handlerInstance as Handler).getStats();
    if (s.delivered > 0) console.error(`beyod dispatcher: delivered ${s.delivered}, dropped ${s.dropped} (slow subscribers)`);
    void listener.stop(0).then(() => process.exit(0));
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
