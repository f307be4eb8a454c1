import { defineConfig } from '@beyod/core';
import { MyServer } from '../app/MyServer';

// The seed's cluster story. Start a dispatcher first (examples/dispatcher), then:
//
//   beyod start --config examples/cluster-push/config/main.ts
//   node -r @beyod/cli/register examples/cluster-push/scripts/push.ts 11403265 'hello worker 1'
//
// GPID = serverId * 65536 + workerId: with serverId 174, worker 1 is 11403265, worker 4 is
// 11403268. Every server of a cluster needs its own serverId.
export default defineConfig({
  id: 'cluster-push',
  components: {
    server: {
      class: MyServer,
      serverId: 174,
      workerNum: 4,
      stopTimeout: 3,
      dispatcher: process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491',
      dispatcherToken: process.env.DISPATCHER_TOKEN ?? '',
      // no listeners: these workers only hold their dispatcher client
      listeners: {},
    },
  },
});
