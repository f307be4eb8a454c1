import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from 'test-helpers';
import { createLogger } from '../src/logger';

/** Log through a real file destination and return the lines written. */
function linesOf(fn: (log: ReturnType<typeof createLogger>) => void): string[] {
  const dir = tmpDir('beyod-logger-');
  try {
    const file = path.join(dir, 'out.log');
    const log = createLogger({ level: 'info', file });
    fn(log);
    log.flush();
    return fs.readFileSync(file, 'utf8').trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const count = (line: string, key: string) => line.split(`"${key}":`).length - 1;

describe('createLogger: no key twice on one line', () => {
  test("the docs' example: a child bound with gpid logs { gpid } once", () => {
    // processes.md's onWorkerStart example printed "gpid" twice: pino writes the child's
    // bindings and the call's object side by side, without merging them.
    const [line] = linesOf((log) => log.child({ serverId: 1, workerId: 1, gpid: 65537 }).info({ gpid: 65537 }, 'ready'));
    expect(count(line!, 'gpid')).toBe(1);
    expect(JSON.parse(line!)).toMatchObject({ gpid: 65537, workerId: 1, serverId: 1, msg: 'ready' });
  });

  test("a call's value wins over a binding (as in bunyan and winston), and the other bindings stay", () => {
    const [line] = linesOf((log) => log.child({ listener: 'web', conn: 1 }).warn({ conn: 2, bytes: 10 }, 'forwarded'));
    expect(count(line!, 'conn')).toBe(1);
    expect(JSON.parse(line!)).toMatchObject({ listener: 'web', conn: 2, bytes: 10, msg: 'forwarded' });
  });

  test("the root's own pid binding is not repeated when a line names another process's pid", () => {
    const [line] = linesOf((log) => log.child({ role: 'master' }).info({ pid: 4242, workerId: 1 }, 'worker exited'));
    expect(count(line!, 'pid')).toBe(1);
    expect(JSON.parse(line!)).toMatchObject({ pid: 4242, role: 'master' });
  });

  test('lines without a clash are untouched, and the logger is unchanged after a clash', () => {
    const lines = linesOf((log) => {
      const child = log.child({ workerId: 3 });
      child.info({ workerId: 4 }, 'one');
      child.info({ other: true }, 'two');
      child.info('three');
      child.error(new Error('boom'));
    });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ workerId: 4, msg: 'one' }),
      expect.objectContaining({ workerId: 3, other: true, msg: 'two' }),
      expect.objectContaining({ workerId: 3, msg: 'three' }),
      expect.objectContaining({ workerId: 3, msg: 'boom' }),
    ]);
    for (const l of lines) expect(count(l, 'workerId')).toBe(1);
  });
});
