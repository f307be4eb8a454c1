import { defineConfig } from '@beyod/core';
import { MyServer } from '../app/MyServer';

// The seed's cluster story. Start a dispatcher first (examples/dispatcher), then:
//
//   beyod start --config examples/cluster-push/config/main.ts
//   node -r @beyod/cli/register examples/cluster-push/scripts/push.ts 11403265 'hello worker 1'
//
// GPID = serverId * 65536 + workerId: with serverId 174, worker 1 is 11403265, worker 4 is
// 11403268. Every server of a cluster needs its own serverId (SERVER_ID=...).
//
// DISPATCHER_TARGET picks the backend, the worker code stays the same (see README.md):
//   tcp://10.0.0.5:2491                       one beyod dispatcher
//   tcp://10.0.0.5:2491,tcp://10.0.0.6:2491   several, placed by rendezvous hashing
//   redis://10.0.0.7:6379?prefix=push         Redis
//   redis+cluster://10.0.0.8:7000,10.0.0.9:7000?prefix=push   Redis Cluster
export default defineConfig({
  id: 'cluster-push',
  components: {
    server: {
      class: MyServer,
      serverId: Number(process.env.SERVER_ID ?? 174),
      workerNum: Number(process.env.WORKER_NUM ?? 4),
      stopTimeout: 3,
      dispatcher: process.env.DISPATCHER_TARGET ?? 'tcp://127.0.0.1:2491',
      dispatcherToken: process.env.DISPATCHER_TOKEN ?? '',
      // no listeners: these workers only hold their dispatcher client
      listeners: {},
    },
  },
});
