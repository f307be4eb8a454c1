/*
 * bench/process/handoff: a rolling reload under long-lived connections — 1,000 WebSocket and
 * 200 frame clients on 2 workers, each sending a numbered message every 10 ms and checking its
 * echo (test-helpers/echoLoad.ts, in a process of its own) — with live handoff, and without
 * (`handoff: false`: the connections drain, are closed and reconnect, as with a PM2 reload).
 * Prints how long the reload took, connections moved vs drained, disconnects and messages
 * lost, and the echo latency before, during and after the reload.
 *
 * Usage: node -r ./packages/cli/register.js bench/process/handoff.ts [wsClients=1000] [frameClients=200] [rounds=3]
 * (npm run bench:handoff)
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { StatusReport } from '@beyod/core';
import type { LoadReport } from '../../test-helpers/echoLoad';
import { REGISTER, ROOT, beginReport, endReport, machine, median, note, printTable } from '../lib';
import { BIN, type CliApp, cliStatus, startCliApp, stopCliApp } from './cliApp';

const CONFIG = path.join(ROOT, 'packages/cli/test/fixtures/handoff/config/main.ts');
const LOAD = path.join(ROOT, 'test-helpers/echoLoad.ts');
const wsClients = Number(process.argv[2] ?? 1000);
const frameClients = Number(process.argv[3] ?? 200);
const rounds = Number(process.argv[4] ?? 3);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

type App = CliApp;

const startApp = (handoff: boolean): Promise<App> =>
  startCliApp(CONFIG, (runtime) => ({
    HANDOFF_RUNTIME: runtime,
    HANDOFF_WORKERS: '2',
    HANDOFF: handoff ? '1' : '0',
    HANDOFF_STOP_TIMEOUT: '10',
  }));
const stopApp = stopCliApp;
const status = cliStatus;

function portOf(s: StatusReport, name: string): number {
  const address = s.workers.flatMap((w) => w.listeners).find((l) => l.name === name)?.address;
  return Number(address?.split(':').pop());
}

/** The load generator, forked; `ask` sends a command and waits for the next report. */
function startLoad(s: StatusReport): {
  child: ChildProcess;
  ready: Promise<void>;
  send: (m: object) => void;
  finish: () => Promise<LoadReport>;
} {
  const options = {
    host: '127.0.0.1',
    wsPort: wsClients ? portOf(s, 'ws') : undefined,
    wsClients,
    framePort: portOf(s, 'frame'),
    frameClients,
    interval: 10,
    window: 100,
    reconnect: true,
  };
  const child = fork(LOAD, [JSON.stringify(options)], { execArgv: ['-r', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let onReport: ((r: LoadReport) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { t: string; report?: LoadReport; message?: string }) => {
      if (m.t === 'ready') resolve();
      else if (m.t === 'failed') reject(new Error(m.message));
      else if (m.t === 'report' && m.report) onReport?.(m.report);
    });
  });
  return {
    child,
    ready,
    send: (m) => child.send(m),
    finish: () =>
      new Promise((resolve) => {
        onReport = resolve;
        child.send({ cmd: 'finish' });
      }),
  };
}

interface Round {
  reloadMs: number;
  /** How long each old worker took to hand its connections over (the master's log). */
  handoffMs: number[];
  moved: number;
  drained: number;
  report: LoadReport;
}

async function round(handoff: boolean): Promise<Round> {
  const app = await startApp(handoff);
  try {
    const load = startLoad(await status(app));
    await load.ready;
    load.send({ cmd: 'phase', name: 'before' });
    await pause(3000);
    load.send({ cmd: 'phase', name: 'during' });
    const t0 = performance.now();
    const out = await new Promise<string>((resolve) => {
      const r = spawn(process.execPath, [BIN, 'reload', '--config', CONFIG], { env: app.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      r.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      r.on('exit', () => resolve(err));
    });
    const reloadMs = performance.now() - t0;
    load.send({ cmd: 'phase', name: 'after' });
    await pause(3000);
    const report = await load.finish();
    const counts = [...out.matchAll(/\((\d+) connections? moved, (\d+) drained/g)];
    const moved = counts.reduce((n, m) => n + Number(m[1]), 0);
    const drained = handoff ? counts.reduce((n, m) => n + Number(m[2]), 0) : wsClients + frameClients;
    const handoffMs = app
      .log()
      .split('\n')
      .filter((l) => l.includes('moved from pid'))
      .map((l) => Number((JSON.parse(l) as { ms: number }).ms));
    return { reloadMs, handoffMs, moved, drained, report };
  } finally {
    await stopApp(app);
  }
}

(async () => {
  beginReport('handoff');
  console.log(`bench/process/handoff — ${machine()}`);
  note(
    `Issue 16: a rolling \`beyod reload\` of 2 workers under ${wsClients} WebSocket + ${frameClients} frame clients, each sending a numbered message every 10 ms (at most 100 unanswered), with live handoff and with \`handoff: false\` (the connections drain, get their 1001 and reconnect). Goal: no disconnect, no lost message.`,
  );
  const rows: Array<Array<string | number>> = [];
  for (const handoff of [true, false]) {
    const rs: Round[] = [];
    for (let i = 0; i < rounds; i++) rs.push(await round(handoff));
    const m = (f: (r: Round) => number) => median(rs.map(f));
    const lat = (phase: string, k: 'p50' | 'p99') => m((r) => r.report.latency[phase]?.[k] ?? 0).toFixed(1);
    rows.push([
      handoff ? 'live handoff' : 'handoff: false',
      `${m((r) => r.reloadMs).toFixed(0)} ms`,
      handoff ? `${m((r) => Math.max(...r.handoffMs)).toFixed(0)} ms` : '-',
      m((r) => r.moved),
      m((r) => r.drained),
      m((r) => r.report.disconnects.length),
      m((r) => r.report.problems - r.report.disconnects.length),
      m((r) => r.report.rate),
      `${lat('before', 'p50')} / ${lat('before', 'p99')}`,
      `${lat('during', 'p50')} / ${lat('during', 'p99')}`,
      `${lat('after', 'p50')} / ${lat('after', 'p99')}`,
    ]);
  }
  printTable(
    `rolling reload of 2 workers under ${wsClients + frameClients} connections (median of ${rounds})`,
    [
      'reload',
      'took',
      'handoff (slowest worker)',
      'moved',
      'drained',
      'disconnects',
      'other problems',
      'msgs/s sent',
      'p50/p99 ms before',
      'during',
      'after',
    ],
    rows,
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
