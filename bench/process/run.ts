/*
 * bench/process: what the process model costs and keeps, through the real `beyod` CLI.
 *  1. respawn latency: kill -9 a worker -> its replacement (same id) accepts; median of N.
 *  2. reload under load: connection-per-request clients run through `beyod reload`;
 *     requests sent and failed.
 *  3. frame echo throughput with workerNum 1 vs 2 (goal >= 1.7x on 2 cores).
 * A reload under 1,200 long-lived connections (live handoff) is bench/process/handoff.ts
 * (npm run bench:handoff).
 * Usage: node -r ./packages/cli/register.js bench/process/run.ts [respawns=10] [seconds=5]
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import type { StatusReport } from '@beyod/core';
import { BIN, type CliApp, cliStatus, startCliApp, stopCliApp } from './cliApp';
import { beginReport, endReport, machine, median, output, percentile, printTable, ROOT, runTs } from '../lib';

const CONFIG = path.join(ROOT, 'bench/echo/app/config/main.ts');
const respawns = Number(process.argv[2] ?? 10);
const seconds = process.argv[3] ?? '5';
/** Busy-loop iterations per message in the application-work variant (~20 µs here). */
const WORK = 20000;

type App = CliApp;

const startApp = (workers: number, parser = 'frame', work = 0): Promise<App> =>
  startCliApp(CONFIG, (runtime) => ({
    BENCH_RUNTIME: runtime,
    BENCH_WORKERS: String(workers),
    BENCH_PARSER: parser,
    BENCH_WORK: String(work),
  }));
const stopApp = stopCliApp;
const status = cliStatus;

const portOf = (s: StatusReport) => Number(s.workers[0]!.listeners[0]!.address!.split(':').pop());

async function respawnLatency(): Promise<number[]> {
  const app = await startApp(2);
  const times: number[] = [];
  try {
    for (let i = 0; i < respawns; i++) {
      const before = await status(app);
      const victim = before.workers[i % 2]!;
      // let the last respawned worker age past the crash-loop window, so each kill is a plain crash
      await new Promise((r) => setTimeout(r, 2200));
      const t0 = performance.now();
      process.kill(victim.pid, 'SIGKILL');
      for (;;) {
        const s = await status(app);
        const w = s.workers.find((x) => x.workerId === victim.workerId)!;
        if (w.pid !== victim.pid && w.state === 'ready') break;
        await new Promise((r) => setTimeout(r, 2));
      }
      times.push(performance.now() - t0);
    }
  } finally {
    await stopApp(app);
  }
  return times;
}

function ask(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('utf8');
    s.on('connect', () => s.write('ping\n'));
    s.on('data', (d: string) => {
      if (d.includes('\n')) {
        s.end();
        resolve();
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed without an answer')));
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error('timeout'));
    });
  });
}

async function reloadUnderLoad(): Promise<{ sent: number; failed: number; reloadMs: number }> {
  const app = await startApp(2, 'text');
  const port = portOf(await status(app));
  let sent = 0;
  let failed = 0;
  let running = true;
  const client = async () => {
    while (running) {
      sent++;
      await ask(port).catch(() => failed++);
    }
  };
  const clients = Array.from({ length: 8 }, client);
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  const r = spawn(process.execPath, [BIN, 'reload', '--config', CONFIG], { env: app.env, stdio: 'ignore' });
  await new Promise((resolve) => r.on('exit', resolve));
  const reloadMs = performance.now() - t0;
  await new Promise((r2) => setTimeout(r2, 500));
  running = false;
  await Promise.all(clients);
  await stopApp(app);
  return { sent, failed, reloadMs };
}

async function echoThroughput(workers: number, work = 0): Promise<number> {
  const app = await startApp(workers, 'frame', work);
  try {
    const port = String(portOf(await status(app)));
    const load = runTs(path.join(ROOT, 'bench/echo/load.ts'), ['127.0.0.1', port, '50', work ? '8' : '64', '32', seconds]);
    const r = JSON.parse(await output(load)) as { msgs: number; seconds: number };
    return r.msgs / r.seconds;
  } finally {
    await stopApp(app);
  }
}

(async () => {
  beginReport('process');
  console.log(`bench/process — ${machine()}`);
  const times = await respawnLatency();
  printTable(
    `respawn latency: kill -9 -> replacement accepting (${times.length} kills)`,
    ['median', 'p90', 'min', 'max', 'goal'],
    [
      [
        `${median(times).toFixed(0)} ms`,
        `${percentile(times, 90).toFixed(0)} ms`,
        `${Math.min(...times).toFixed(0)} ms`,
        `${Math.max(...times).toFixed(0)} ms`,
        '< 300 ms',
      ],
    ],
  );
  const rl = await reloadUnderLoad();
  printTable(
    'reload under load (8 connection-per-request clients, 2 workers)',
    ['requests sent', 'failed', 'reload took', 'goal'],
    [[rl.sent, rl.failed, `${rl.reloadMs.toFixed(0)} ms`, '0 failed']],
  );
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < 3; i++) {
    // alternate the order, so neither always runs on a warmer (or busier) machine
    if (i % 2 === 0) {
      one.push(await echoThroughput(1));
      two.push(await echoThroughput(2));
    } else {
      two.push(await echoThroughput(2));
      one.push(await echoThroughput(1));
    }
  }
  const r1 = median(one);
  const r2 = median(two);
  printTable(
    'frame echo through the CLI, msgs/s (median of 3)',
    ['workerNum', 'msgs/s', 'ratio', 'goal'],
    [
      [1, r1, '1.00x', ''],
      [2, r2, `${(r2 / r1).toFixed(2)}x`, '>= 1.7x'],
    ],
  );
  // The load generator needs about a core of its own for the pure echo, so on 2 cores the
  // second worker has little to run on. With application work per message the servers are
  // the bottleneck, and the scaling of the process model shows.
  const heavy1: number[] = [];
  const heavy2: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i % 2 === 0) {
      heavy1.push(await echoThroughput(1, WORK));
      heavy2.push(await echoThroughput(2, WORK));
    } else {
      heavy2.push(await echoThroughput(2, WORK));
      heavy1.push(await echoThroughput(1, WORK));
    }
  }
  const h1 = median(heavy1);
  const h2 = median(heavy2);
  printTable(
    `echo with application work (${WORK.toLocaleString('en-US')} busy-loop iterations per message), msgs/s (median of 3)`,
    ['workerNum', 'msgs/s', 'ratio'],
    [
      [1, h1, '1.00x'],
      [2, h2, `${(h2 / h1).toFixed(2)}x`],
    ],
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
