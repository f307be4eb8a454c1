/* Helpers of the live-handoff tests: the handoff fixture app, its ports, its clients, the load generator. */
import { type ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { StatusReport } from '@beyod/core';
import { RawClient, tmpDir, until } from 'test-helpers';
import type { LoadOptions, LoadReport } from '../../../test-helpers/echoLoad';
import { type Running, beyod, startBeyod, status } from './harness';

export const HANDOFF_CONFIG = path.resolve(__dirname, 'fixtures/handoff/config/main.ts');
const REGISTER = path.resolve(__dirname, '../register.js');
const LOAD = path.resolve(__dirname, '../../../test-helpers/echoLoad.ts');

interface Cleaner {
  add<T>(v: T, fn: (v: T) => unknown): T;
  defer(fn: () => unknown): void;
}

export interface HandoffApp {
  run: Running;
  runtime: string;
  env: NodeJS.ProcessEnv;
  status: () => Promise<StatusReport>;
  /** `beyod <args>` against this app. */
  cmd: (args: string[], ms?: number) => ReturnType<typeof beyod>;
  /** The port (or path) of listener `name`. */
  port: (s: StatusReport, name: string) => number;
  /** Write overrides.json (read by the next reload). */
  override: (o: Record<string, unknown>) => void;
}

/** Start the handoff fixture app through the CLI, in a fresh runtime directory. */
export async function startHandoffApp(cleanup: Cleaner, extra: Record<string, string> = {}): Promise<HandoffApp> {
  const runtime = tmpDir('beyod-handoff-');
  cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
  const env = { ...process.env, BEYOD_LOG_LEVEL: 'info', HANDOFF_RUNTIME: runtime, ...extra };
  const run = startBeyod([], env, HANDOFF_CONFIG);
  cleanup.add(run, (r) => r.kill());
  await run.waitStarted(60000);
  return {
    run,
    runtime,
    env,
    status: () => status(env, HANDOFF_CONFIG),
    cmd: (args, ms = 120000) => beyod([...args, '--config', HANDOFF_CONFIG], env, ms),
    port: (s, name) => {
      const address = s.workers.flatMap((w) => w.listeners).find((l) => l.name === name && l.address)?.address;
      if (!address) throw new Error(`no listener '${name}' in status`);
      return Number(address.split(':').pop());
    },
    override: (o) => fs.writeFileSync(path.join(runtime, 'overrides.json'), JSON.stringify(o)),
  };
}

/** A frame-protocol client: send(text), and the answers as strings. */
export class FrameClient {
  readonly answers: string[] = [];
  private constructor(readonly raw: RawClient) {
    let pending = Buffer.alloc(0);
    raw.socket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0)) {
        const n = pending.readUInt32BE(0);
        this.answers.push(pending.toString('utf8', 4, n));
        pending = pending.subarray(n);
      }
    });
  }
  static async connect(port: number, cleanup: Cleaner): Promise<FrameClient> {
    const raw = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port }), (c) => c.destroy());
    return new FrameClient(raw);
  }
  send(text: string): void {
    const body = Buffer.from(text);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length + 4, 0);
    this.raw.write(Buffer.concat([head, body]));
  }
  /** Send `text` and wait for its answer. */
  async ask(text: string, ms = 5000): Promise<string> {
    const n = this.answers.length;
    this.send(text);
    await until(() => this.answers.length > n || this.raw.closed, ms, `an answer to ${text}`);
    if (this.answers.length <= n) throw new Error(`closed before answering ${text}`);
    return this.answers[n]!;
  }
}

/** A line client: ask(line) gives the answer line. */
export class LineClient {
  readonly lines: string[] = [];
  private constructor(readonly raw: RawClient) {
    let pending = '';
    const text = new StringDecoder('utf8');
    raw.socket.on('data', (d: Buffer) => {
      pending += text.write(d);
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        this.lines.push(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
  }
  static async connect(opts: net.NetConnectOpts, cleanup: Cleaner): Promise<LineClient> {
    const raw = cleanup.add(await RawClient.connect(opts), (c) => c.destroy());
    return new LineClient(raw);
  }
  static wrap(socket: net.Socket, cleanup: Cleaner): LineClient {
    return new LineClient(cleanup.add(RawClient.wrap(socket), (c) => c.destroy()));
  }
  async ask(line: string, ms = 5000): Promise<string> {
    const n = this.lines.length;
    this.raw.write(`${line}\n`);
    await until(() => this.lines.length > n || this.raw.closed, ms, `an answer to ${line}`);
    if (this.lines.length <= n) throw new Error(`closed before answering ${line}`);
    return this.lines[n]!;
  }
}

/** "<pid> <message> <count> <origin>" as numbers (the message as a string). */
export function parseAnswer(a: string): { pid: number; message: string; count: number; origin: number } {
  const parts = a.split(' ');
  return { pid: Number(parts[0]), message: parts.slice(1, -2).join(' '), count: Number(parts.at(-2)), origin: Number(parts.at(-1)) };
}

/** The load generator (test-helpers/echoLoad.ts) in a child process of its own. */
export class LoadProcess {
  private readonly child: ChildProcess;
  private readonly reports: LoadReport[] = [];
  private failure: string | undefined;
  readonly ready: Promise<void>;

  constructor(options: LoadOptions, cleanup: Cleaner) {
    this.child = fork(LOAD, [JSON.stringify(options)], { execArgv: ['-r', REGISTER], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    cleanup.add(this.child, (c) => c.exitCode === null && c.kill('SIGKILL'));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m: { t: string; report?: LoadReport; message?: string }) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'failed') reject(new Error((this.failure = m.message)));
        else if (m.t === 'report' && m.report) this.reports.push(m.report);
      });
      this.child.on('exit', (code) => reject(new Error(`the load generator exited (${code}) ${this.failure ?? ''}`)));
    });
  }

  /** Count latencies from now on under `name`. */
  phase(name: string): void {
    this.child.send({ cmd: 'phase', name });
  }

  private async next(cmd: string, ms: number): Promise<LoadReport> {
    const n = this.reports.length;
    this.child.send({ cmd });
    await until(() => this.reports.length > n, ms, `a load report (${cmd})`);
    return this.reports[n]!;
  }

  report(): Promise<LoadReport> {
    return this.next('report', 10000);
  }

  /** Stop sending, wait for every answer, and report. */
  finish(): Promise<LoadReport> {
    return this.next('finish', 30000);
  }
}
