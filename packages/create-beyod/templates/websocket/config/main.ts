import { defineConfig } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { AppServer } from '../app/AppServer';
import { ChatHandler } from '../app/ChatHandler';

// `npm start` runs this config (`beyod start` finds config/main.ts); `npm run dev` merges
// config/dev/main.ts over it. Paths in a config are relative to this app's directory.
//
// One port serves the page (public/) and the WebSocket (/ws). Each worker is a room of its
// own: with more than one worker, share the room through a dispatcher (the cluster template).
export default defineConfig({
  id: '__APP_NAME__',
  components: {
    server: {
      class: AppServer,
      serverId: 1, // 1..65535: give each server of a cluster its own (GPID = serverId * 65536 + workerId)
      workerNum: 1, // one room; see above
      stopTimeout: 5,
      listeners: {
        chat: {
          listen: 'tcp://0.0.0.0:8080',
          parser: { class: websocket.Parser, maxPayload: 64 * 1024 }, // messages over 64 KiB close with 1009
          handler: { class: ChatHandler, documentRoot: 'public', path: '/ws', heartbeatInterval: 30 },
        },
      },
    },
  },
});
