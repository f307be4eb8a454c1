import { defineConfig } from '@beyod/core';
import { syslog } from '@beyod/protocols';
import { SyslogCollector } from '../app/SyslogCollector';

// A syslog collector on port 5514 (514 needs root), UDP and TCP, writing runtime/syslog.log.
// Try it: logger -n 127.0.0.1 -P 5514 -d "hello over udp"
//         logger -n 127.0.0.1 -P 5514 -T --octet-count "hello over tcp"
const file = process.env.SYSLOG_FILE ?? 'runtime/syslog.log';

export default defineConfig({
  id: 'syslog',
  components: {
    server: {
      serverId: 1,
      workerNum: 2,
      stopTimeout: 3,
      listeners: {
        udp: {
          listen: process.env.SYSLOG_UDP ?? 'udp://0.0.0.0:5514',
          parser: syslog.Parser,
          handler: { class: SyslogCollector, file },
        },
        tcp: {
          listen: process.env.SYSLOG_TCP ?? 'tcp://0.0.0.0:5514',
          parser: syslog.Parser,
          handler: { class: SyslogCollector, file },
          idleTimeout: 600,
        },
      },
    },
  },
});
