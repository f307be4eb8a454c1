import { defineConfig } from '@beyod/core';

// Merged over config/main.ts when BEYOD_ENV=dev (`npm run dev`): one worker, debug logs.
// Production settings go the same way in config/prod/main.ts, used with BEYOD_ENV=prod.
export default defineConfig({
  log: { level: 'debug' },
  components: { server: { workerNum: 1 } },
});
