/* An app started with the real `beyod start` for the process benches, in a fresh runtime directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StatusReport } from '@beyod/core';
import { ROOT } from '../lib';

export const BIN = path.join(ROOT, 'packages/cli/bin/beyod.js');

export interface CliApp {
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  runtime: string;
  /** What the master wrote on stdout so far (its JSON log lines). */
  log: () => string;
}

/** `beyod start --config <config>`, with `env(runtime)` added to the environment; resolves once started. */
export async function startCliApp(config: string, env: (runtime: string) => Record<string, string>): Promise<CliApp> {
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'beyod-bench-'));
  const fullEnv = { ...process.env, ...env(runtime) };
  const child = spawn(process.execPath, [BIN, 'start', '--config', config], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('started')) resolve();
    });
    child.on('exit', () => reject(new Error(`beyod start failed: ${err}`)));
  });
  return { child, env: fullEnv, runtime, log: () => out };
}

export async function stopCliApp(app: CliApp): Promise<void> {
  const done = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGTERM');
  await done;
  fs.rmSync(app.runtime, { recursive: true, force: true });
}

/** The app's status, from its control socket. */
export async function cliStatus(app: CliApp): Promise<StatusReport> {
  const { controlRequest, controlSocketPath } = await import('@beyod/core/internal');
  return controlRequest<StatusReport>(controlSocketPath(path.join(app.runtime, 'beyod.pid')), { cmd: 'status' });
}
