import { defineConfig } from '@beyod/core';
import { text } from '@beyod/protocols';
import { AppServer } from '../app/AppServer';
import { EchoHandler } from '../app/EchoHandler';

// `npm start` runs this config (`beyod start` finds config/main.ts); `npm run dev` merges
// config/dev/main.ts over it. Paths in a config are relative to this app's directory.
export default defineConfig({
  id: '__APP_NAME__',
  components: {
    server: {
      class: AppServer,
      serverId: 1, // 1..65535: give each server of a cluster its own (GPID = serverId * 65536 + workerId)
      workerNum: 2, // worker processes; the default is one per CPU
      stopTimeout: 5, // seconds open connections get to finish on stop and reload
      listeners: {
        echo: {
          listen: 'tcp://0.0.0.0:7000',
          parser: { class: text.Parser, maxPacketSize: 64 * 1024 }, // one message per line; a longer line closes that connection
          handler: EchoHandler, // or { class: EchoHandler, greeting: '...' }
          idleTimeout: 300, // close connections silent for 5 minutes
        },
      },
    },
  },
});
