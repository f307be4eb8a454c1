import { defineConfig } from '@beyod/core';
import { text } from '@beyod/protocols';
import { AppServer } from '../app/AppServer';
import { DeviceHandler } from '../app/DeviceHandler';

// `npm start` runs this config (`beyod start` finds config/main.ts); `npm run dev` merges
// config/dev/main.ts over it. The dispatcher is another app: dispatcher/config/main.ts.
//
// Every worker subscribes to its own GPID on the dispatcher; a device that logs in is recorded
// in the dispatcher's hash as { gpid, conn }; a push (scripts/push.ts) looks the device up and
// publishes to that GPID, so it reaches the one worker that holds the connection.
export default defineConfig({
  id: '__APP_NAME__',
  components: {
    server: {
      class: AppServer,
      serverId: 1, // 1..65535: every server of the cluster needs its own (GPID = serverId * 65536 + workerId)
      workerNum: 2,
      stopTimeout: 5,
      dispatcher: 'tcp://127.0.0.1:2491',
      dispatcherToken: '', // the dispatcher handler's token, when it has one
      listeners: {
        devices: { listen: 'tcp://0.0.0.0:7000', parser: text.Parser, handler: DeviceHandler, idleTimeout: 600 },
      },
    },
  },
});
