import { defineConfig } from '@beyod/core';
import { frame, text } from '@beyod/protocols';
import { EchoHandler } from '../app/EchoHandler';

// The app the process benchmarks run through the real CLI; the environment varies it.
const env = process.env;
const runtime = env.BENCH_RUNTIME ?? 'runtime';

export default defineConfig({
  id: 'bench-echo',
  log: { level: 'warn' },
  components: {
    server: {
      workerNum: Number(env.BENCH_WORKERS ?? 2),
      pidFile: `${runtime}/beyod.pid`,
      stopTimeout: 2,
      listeners: {
        echo: {
          listen: 'tcp://127.0.0.1:0',
          parser: env.BENCH_PARSER === 'text' ? text.Parser : frame.Parser,
          handler: { class: EchoHandler, work: Number(env.BENCH_WORK ?? 0) },
        },
      },
    },
  },
});
