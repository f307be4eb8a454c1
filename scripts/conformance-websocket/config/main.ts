import { defineConfig } from '@beyod/core';
import { websocket } from '@beyod/protocols';

/** Echoes text as text and binary as binary: what the Autobahn|Testsuite fuzzing client expects. */
class EchoHandler extends websocket.Handler {
  override onMessage(event: websocket.WebSocketMessageEvent): void {
    event.sender.send(event.message);
  }
}

// The beyod side of `npm run conformance:websocket` (scripts/conformance-websocket.ts), run with
// `beyod start --single`. permessage-deflate on, with its defaults; the limits raised as
// docs/websocket.md says to accept what section 9 sends (messages of 16 MiB, 4 MiB messages in
// 64-byte fragments).
export default defineConfig({
  id: 'conformance-websocket',
  components: {
    server: {
      workerNum: 1,
      stopTimeout: 2,
      listeners: {
        echo: {
          listen: process.env.CONFORMANCE_LISTEN ?? 'tcp://127.0.0.1:9001',
          parser: {
            class: websocket.Parser,
            maxPayload: 16 * 1024 * 1024,
            maxFragments: 128 * 1024,
            perMessageDeflate: true,
          },
          handler: EchoHandler,
        },
      },
    },
  },
});
