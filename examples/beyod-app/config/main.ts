import { defineConfig } from '@beyod/core';
import { http, text, websocket } from '@beyod/protocols';
import { ChatHandler } from '../app/ChatHandler';
import { MyServer } from '../app/MyServer';
import { Site } from '../app/Site';
import { TextChatHandler } from '../app/TextChatHandler';

// beyoio/beyod-app's config/main.php, ported key by key (docs/migration.md has the table).
// The PHP app's fourth listener, the dispatcher on 9726, is an app of its own here
// (dispatcher/config/main.ts): it must run in ONE process, and this server has four.
//
//   npx beyod start --config examples/beyod-app/config/main.ts
//   open http://localhost:9723/ ; http://localhost:9723/websocket.html in two windows ; nc localhost 9725
export default defineConfig({
  id: 'beyod',
  params: {},
  components: {
    server: {
      class: MyServer, // 'class' => 'app\MyServer'
      pidFile: 'runtime/beyod.pid', // 'pid_file' => '@runtime/beyod.pid'
      serverId: 1, // 'server_id' => 1
      workerNum: 4, // 'worker_num' => 4
      daemonize: false, // 'daemonize' => true: stay in the foreground (beyod start --daemon detaches)
      user: '', // 'user' => 'nobody': set it when you start as root
      group: '',
      dispatcher: '', // MyServer's $dispatch_server: 'tcp://127.0.0.1:9726' subscribes each worker to its GPID
      maxMemory: 512 * 1024 * 1024, // 'memory_limit' => '512MB' (a worker over it is replaced gracefully)
      // 'rlimit_nofile' => 65535: the service manager's job (LimitNOFILE=, ulimit -n); see docs/deployment.md
      listeners: {
        https: {
          listen: 'tcp://0.0.0.0:9723',
          handler: { class: Site, documentRoot: 'webroot', directoryListing: true }, // document_root, auto_index
          parser: { class: http.Parser, maxPacketSize: 4 * 1048576, maxHeaderSize: 2048 }, // max_packet_size, max_header_size
        },
        websocket: {
          listen: 'tcp://0.0.0.0:9724',
          handler: ChatHandler,
          parser: websocket.Parser,
        },
        text: {
          listen: 'tcp://0.0.0.0:9725',
          handler: TextChatHandler, // beyod\protocol\text\Handler's chat, ported (text.Handler here is an echo)
          parser: text.Parser,
        },
      },
    },
  },
});
