import { defineConfig } from '@beyod/core';
import { websocket } from '@beyod/protocols';
import { ChatHandler } from '../app/ChatHandler';

// One port serves the chat page (public/) and the WebSocket endpoint (/ws).
// workerNum is 1: with more workers each would hold its own room (see docs/websocket.md for
// fanning the chat out through the dispatcher).
export default defineConfig({
  id: 'websocket-chat',
  components: {
    server: {
      workerNum: 1,
      listeners: {
        chat: {
          listen: 'tcp://0.0.0.0:8080',
          parser: { class: websocket.Parser, maxPayload: 64 * 1024 },
          handler: { class: ChatHandler, documentRoot: 'public', path: '/ws', heartbeatInterval: 30 },
        },
      },
    },
  },
});
