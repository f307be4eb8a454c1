import { defineConfig } from '@beyod/core';
import { text } from '@beyod/protocols';

// The demo of the README: `npm start` at the repository root runs this.
// Try it with `nc 127.0.0.1 7000` (or telnet); type lines, `quit` to leave.
// text.Handler echoes each line (override onLine() or give lineCallback to do more).
export default defineConfig({
  id: 'echo',
  components: {
    server: {
      serverId: 1,
      workerNum: 2,
      stopTimeout: 3,
      listeners: {
        echo: {
          listen: process.env.ECHO_LISTEN ?? 'tcp://0.0.0.0:7000',
          parser: text.Parser,
          handler: { class: text.Handler, greeting: 'welcome to beyod echo; every line you send comes back, quit to leave' },
          idleTimeout: 300,
        },
      },
    },
  },
});
