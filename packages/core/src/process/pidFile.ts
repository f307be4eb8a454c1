import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The pid file is information for people and scripts, not a lock and not a proof: the control
 * socket is both (see ControlServer). A pid read here is never signalled: after a crash the
 * kernel may have given it to an unrelated process.
 */

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

/**
 * True if a process with this pid exists (it may belong to another user). Only meaningful for a
 * pid that proved itself (a control socket answered with it); never proof of a server.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Write our pid to `file` (atomically: a temporary file renamed over it). Call it only once the
 * control socket is claimed: whatever pid the file held is stale then, and it is returned.
 */
export function writePidFile(file: string, pid = process.pid): { stalePid?: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const stalePid = readPid(file);
  const temp = `${file}.${pid}.tmp`;
  fs.writeFileSync(temp, `${pid}\n`, { mode: 0o644 });
  fs.renameSync(temp, file);
  return stalePid !== undefined && stalePid !== pid ? { stalePid } : {};
}

/** Remove the pid file if it still holds our pid. */
export function releasePidFile(file: string, pid = process.pid): void {
  if (readPid(file) === pid) fs.rmSync(file, { force: true });
}
