import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toError } from '../errors';
import { ensurePrivateDir } from './control';

/**
 * The per-user registry of running apps, for `beyod list`: one small JSON file per control
 * socket in `$BEYOD_HOME/apps` (default `~/.beyod/apps`), directories 0700 and files 0600. It
 * is a list of places to ask, never proof: `beyod list` asks each control socket, and removes
 * the entries nobody answers for. `~/.beyod` rather than $XDG_RUNTIME_DIR: a service started
 * by systemd has no XDG_RUNTIME_DIR (or another one) than the same user's shell, and `beyod
 * list` must see both.
 */
export interface RegistryEntry {
  /** The app's id. */
  id: string;
  /** The master's (or single process's) pid when it registered. */
  pid: number;
  /** Its control socket: where `beyod list` asks. */
  socket: string;
  pidFile: string;
  configFile: string;
  startAt: number;
}

/** The registry directory (see RegistryEntry). */
export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.BEYOD_HOME || path.join(os.homedir(), '.beyod');
  return path.join(home, 'apps');
}

function entryFile(dir: string, socket: string): string {
  return path.join(dir, `${createHash('sha256').update(socket).digest('hex').slice(0, 24)}.json`);
}

/**
 * Add an entry for a server that just claimed its control socket. Returns a function that
 * removes it (only if it still names this pid: a later server on the same socket replaced it).
 * A registry that cannot be used (no home directory, another user's, open to others) is
 * skipped with the reason returned: `beyod list` will not show this app, nothing else changes.
 */
export function registerApp(entry: RegistryEntry): { unregister: () => void; problem?: string } {
  const dir = registryDir();
  try {
    ensurePrivateDir(path.dirname(dir));
    ensurePrivateDir(dir);
    const file = entryFile(dir, entry.socket);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(entry)}\n`, { mode: 0o600, flag: 'w' });
    fs.renameSync(temp, file);
    return {
      unregister: () => {
        try {
          const now = JSON.parse(fs.readFileSync(file, 'utf8')) as RegistryEntry;
          if (now.pid === entry.pid) fs.rmSync(file, { force: true });
        } catch {
          /* gone already, or unreadable: `beyod list` cleans it */
        }
      },
    };
  } catch (e) {
    return { unregister: () => {}, problem: `${dir}: ${toError(e).message}` };
  }
}

/** Every entry in the registry, with the file it is in (unreadable ones are removed). */
export function registeredApps(env: NodeJS.ProcessEnv = process.env): Array<RegistryEntry & { file: string }> {
  const dir = registryDir(env);
  let names: string[];
  try {
    const st = fs.lstatSync(dir);
    const uid = process.geteuid?.() ?? st.uid;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return []; // not ours to trust
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Array<RegistryEntry & { file: string }> = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const e = JSON.parse(fs.readFileSync(file, 'utf8')) as RegistryEntry;
      if (typeof e.socket !== 'string' || typeof e.id !== 'string') throw new Error('not an entry');
      out.push({ ...e, file });
    } catch {
      fs.rmSync(file, { force: true });
    }
  }
  return out;
}
