import { defineConfig } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';

// The beyod-app's 'dispatch' listener (tcp://0.0.0.0:9726), as an app of its own: channels,
// the hash and the queues live in the memory of the process that serves them, so the
// dispatcher needs exactly one worker. (Inside the PHP app's 4-worker server, each worker had
// its own: a publish reached only the subscribers connected to the same worker.)
//
//   npx beyod start --config examples/beyod-app/dispatcher/config/main.ts
export default defineConfig({
  id: 'beyod-dispatcher',
  components: {
    server: {
      workerNum: 1,
      listeners: {
        dispatch: { listen: 'tcp://0.0.0.0:9726', parser: Parser, handler: Handler },
      },
    },
  },
});
