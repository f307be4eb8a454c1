import { defineConfig } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';

// The dispatcher: pub/sub, a shared hash and queues for every worker of every server of the
// cluster. ONE worker, so every client sees the same channels and hash (they live in that
// worker's memory). Start it first: `npm run start:dispatcher`.
export default defineConfig({
  id: '__APP_NAME__-dispatcher',
  components: {
    server: {
      workerNum: 1,
      stopTimeout: 3,
      listeners: {
        dispatcher: {
          listen: 'tcp://127.0.0.1:2491', // reachable by every server of the cluster; set `token` when it is not loopback
          handler: { class: Handler, token: '' },
          parser: { class: Parser, maxPacketSize: 1024 * 1024 },
        },
      },
    },
  },
});
