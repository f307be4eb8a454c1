import { fork } from 'node:child_process';
import * as path from 'node:path';
import { BeyodError, ErrorCodes, type MasterSettings, type SerializedError, isMasterSettings } from '@beyod/core';
import type { AppLocation } from './loadApp';

const PROBE_MAIN = path.join(__dirname, 'probeMain.js');
/** A config whose modules take longer than this to load is reported as hanging. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Check the config in a child process (it imports the application) and get the master's
 * settings back. Application code never runs in the process that calls this.
 */
export function probeConfig(loc: AppLocation, env: NodeJS.ProcessEnv = process.env): Promise<MasterSettings> {
  return new Promise((resolve, reject) => {
    const child = fork(PROBE_MAIN, [loc.configFile, loc.appDir], {
      env,
      execArgv: process.execArgv,
      // whatever the application prints while its modules load goes to stderr: our stdout may
      // be `status --json`
      stdio: ['ignore', 2, 'inherit', 'ipc'],
    });
    let answer: { t?: string; settings?: unknown; error?: SerializedError } | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new BeyodError(
          ErrorCodes.CONFIG_INVALID,
          `${loc.configFile}: loading the config did not finish within ${PROBE_TIMEOUT_MS / 1000} s`,
        ),
      );
    }, PROBE_TIMEOUT_MS);
    child.on('message', (m: typeof answer) => (answer = m));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answer?.t === 'probe:ok' && isMasterSettings(answer.settings)) return resolve(answer.settings);
      if (answer?.t === 'probe:error' && answer.error) return reject(BeyodError.from(answer.error));
      reject(
        new BeyodError(
          ErrorCodes.CONFIG_INVALID,
          `${loc.configFile}: the config check exited (${signal ?? `code ${code}`}) without an answer`,
        ),
      );
    });
  });
}
