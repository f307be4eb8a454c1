import * as fs from 'node:fs';
import * as path from 'node:path';
import { BeyodError, ErrorCodes } from '../errors';

/** The pid written in a pid file, or undefined when there is no (readable) pid. */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True if a process with this pid exists (it may belong to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What acquirePidFile found. */
export interface PidFileResult {
  /** The pid of a dead process that was in the file, now replaced. */
  stalePid?: number;
}

/**
 * Write our pid to `file`, refusing when it names a live process (another instance runs).
 * A pid file left by a dead process is replaced. The write is exclusive, so two instances
 * started at the same moment cannot both win.
 */
export function acquirePidFile(file: string, pid = process.pid): PidFileResult {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const result: PidFileResult = {};
  const existing = readPid(file);
  if (existing !== undefined && existing !== pid) {
    if (isAlive(existing)) {
      throw new BeyodError(ErrorCodes.ALREADY_RUNNING, `already running: pid ${existing} holds ${file} (run \`beyod stop\` first)`, {
        pid: existing,
        pidFile: file,
      });
    }
    result.stalePid = existing;
  }
  if (existing !== undefined || fs.existsSync(file)) fs.rmSync(file, { force: true });
  try {
    fs.writeFileSync(file, `${pid}\n`, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      const other = readPid(file);
      throw new BeyodError(ErrorCodes.ALREADY_RUNNING, `already running: pid ${other ?? '?'} took ${file} just now`, {
        pid: other,
        pidFile: file,
      });
    }
    throw e;
  }
  return result;
}

/** Remove the pid file if it still holds our pid. */
export function releasePidFile(file: string, pid = process.pid): void {
  if (readPid(file) === pid) fs.rmSync(file, { force: true });
}
