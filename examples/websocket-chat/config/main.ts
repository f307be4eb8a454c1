import { defineConfig } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { ChatHandler } from '../app/ChatHandler';

// One port serves the chat page (public/) and the WebSocket endpoint (/ws).
//
//   beyod start --config examples/websocket-chat/config/main.ts      # http://localhost:8080/
//
// One worker holds one room. For more workers, give them a dispatcher to share the room
// through (otherwise each worker is a room of its own):
//
//   beyod start --config examples/dispatcher/config/main.ts
//   CHAT_WORKERS=4 CHAT_DISPATCHER=tcp://127.0.0.1:2491 beyod start --config examples/websocket-chat/config/main.ts
const env = process.env;

export default defineConfig({
  id: 'websocket-chat',
  components: {
    server: {
      workerNum: Number(env.CHAT_WORKERS ?? 1),
      stopTimeout: 3,
      listeners: {
        chat: {
          listen: env.CHAT_LISTEN ?? 'tcp://0.0.0.0:8080',
          parser: { class: websocket.Parser, maxPayload: 64 * 1024 },
          handler: {
            class: ChatHandler,
            documentRoot: 'public',
            path: '/ws',
            heartbeatInterval: 30,
            dispatcher: env.CHAT_DISPATCHER ?? '',
          },
        },
      },
    },
  },
});
