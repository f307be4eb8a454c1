import { defineConfig } from '@beyod/core';
import { http } from '@beyod/protocols';
import { AppServer } from '../app/AppServer';
import { Site } from '../app/Site';

// `npm start` runs this config (`beyod start` finds config/main.ts); `npm run dev` merges
// config/dev/main.ts over it. Paths in a config are relative to this app's directory.
export default defineConfig({
  id: '__APP_NAME__',
  components: {
    server: {
      class: AppServer,
      serverId: 1, // 1..65535: give each server of a cluster its own (GPID = serverId * 65536 + workerId)
      workerNum: 2, // worker processes; the default is one per CPU
      stopTimeout: 5, // seconds open requests get to finish on stop and reload
      listeners: {
        web: {
          listen: 'tcp://0.0.0.0:8080',
          parser: { class: http.Parser, maxPacketSize: 1024 * 1024 }, // requests over 1 MiB get 413
          handler: { class: Site, documentRoot: 'public' },
        },
      },
    },
  },
});
