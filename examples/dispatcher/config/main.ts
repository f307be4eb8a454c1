import { defineConfig } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';

// A dispatcher server, as the seed advises: ONE worker, so every client sees the same
// channels, hash and queues (they live in that worker's memory). It only forwards messages
// and is hard to saturate; when one is not enough, run several and split channels between them.
//
//   beyod start --config examples/dispatcher/config/main.ts
//   node -r @beyod/cli/register examples/dispatcher/scripts/stats.ts   # what it holds now
export default defineConfig({
  id: 'dispatcher',
  components: {
    server: {
      serverId: 1,
      workerNum: 1,
      stopTimeout: 3,
      listeners: {
        dispatcher: {
          listen: process.env.DISPATCHER_LISTEN ?? 'tcp://0.0.0.0:2491',
          handler: {
            class: Handler,
            // when set, clients must authenticate first (Client option `token`)
            token: process.env.DISPATCHER_TOKEN ?? '',
            hashSize: 655360,
            queueSize: 100000,
            maxClients: 10000,
            // bytes the hash, queues, blocked pops and subscriptions may hold together (740 past it)
            memoryLimit: 256 * 1024 * 1024,
            // per connection: blocking pops waiting, channels subscribed
            maxBlockedPops: 1000,
            maxSubscriptions: 100000,
          },
          // packets over 1 MiB are refused (error 740) and that connection is closed
          parser: { class: Parser, maxPacketSize: 1024 * 1024 },
          // a subscriber that stops reading loses deliveries past this many queued bytes
          maxSendBuffer: 8 * 1024 * 1024,
          keepAlive: 60,
        },
      },
    },
  },
});
