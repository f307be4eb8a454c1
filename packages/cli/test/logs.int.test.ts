import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cleanup, until } from 'test-helpers';
import { BIN, FIXTURE_CONFIG, alive, ask, beyod, portOf, startFixture, status, testEnv } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Keys that occur more than once at the top level of a JSON line (pino does not merge). */
function duplicateKeys(line: string): string[] {
  const obj = JSON.parse(line) as Record<string, unknown>;
  return Object.keys(obj).filter((k) => line.split(`"${k}":`).length - 1 > 1);
}

/** Start the fixture as a daemon; stopped (or killed) by cleanup. */
async function startDaemon(extra: Record<string, string> = {}): Promise<{ runtime: string; env: NodeJS.ProcessEnv; pid: number }> {
  const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '2', ...extra });
  cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
  const r = await beyod(['start', '--daemon'], env);
  if (r.code !== 0) throw new Error(`daemon did not start: ${r.stderr}`);
  const pid = Number(/pid (\d+)/.exec(r.stderr)![1]);
  cleanup.defer(async () => {
    if (alive(pid)) await beyod(['stop'], env);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return { runtime, env, pid };
}

describe('one format per stream', () => {
  it('in the foreground, not on a terminal, stdout holds JSON records only: console output from a handler becomes records', async () => {
    const { run, env } = await startFixture(cleanup, { BEYOD_TEST_WORKERS: '2' });
    const port = portOf(await status(env));
    await ask(port, 'print hello from a handler');
    await ask(port, 'eprint trouble in a handler');
    const out = await run.waitLog((l) => l.msg === 'hello from a handler');
    const err = await run.waitLog((l) => l.msg === 'trouble in a handler');
    expect(out).toMatchObject({ stream: 'stdout', level: 30 });
    expect(err).toMatchObject({ stream: 'stderr', level: 40 });
    const s = await status(env);
    expect(s.workers.map((w) => w.pid)).toContain(out.pid);
    expect(s.workers.find((w) => w.pid === out.pid)!.workerId).toBe(out.workerId);
    expect((await beyod(['stop'], env)).code).toBe(0);
    await run.exited;
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]); // nothing but JSON on stdout
    for (const l of lines) expect(duplicateKeys(l)).toEqual([]);
    // the human lines are on stderr, and only there
    expect(run.stderr).toMatch(/beyod 'fixture' started: 2 workers/);
    expect(run.stderr).not.toMatch(/\{"level"/);
  });

  it("a daemon's log file holds JSON only; `beyod logs --lines N` prints its last N lines", async () => {
    const { runtime, env } = await startDaemon();
    const port = portOf(await status(env));
    for (let i = 1; i <= 5; i++) await ask(port, `print line ${i}`);
    const file = path.join(runtime, 'beyod.log');
    await until(() => fs.readFileSync(file, 'utf8').includes('"msg":"line 5"'), 5000, 'line 5 in the log file');
    const r = await beyod(['logs', '--lines', '3'], env);
    expect(r.code).toBe(0);
    const shown = r.stdout.split('\n').filter(Boolean);
    const all = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(shown).toEqual(all.slice(-3));
    expect(shown.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['line 3', 'line 4', 'line 5']);
    expect((await beyod(['stop'], env)).code).toBe(0);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]);
    for (const l of lines) expect(duplicateKeys(l)).toEqual([]);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(
      expect.arrayContaining(['master started', 'master stopped', expect.stringMatching(/^beyod 'fixture' stopped/)]),
    );
    // stopped: `beyod logs` still finds the file, from the config
    const after = await beyod(['logs', '-n', '1'], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toBe(`${lines[lines.length - 1]}\n`);
  });

  it('`beyod logs -f` follows the file across a rotation: moved, then reopened with --reopen, then with SIGUSR2', async () => {
    const { runtime, env, pid } = await startDaemon();
    const port = portOf(await status(env));
    const file = path.join(runtime, 'beyod.log');
    const follower = spawn(process.execPath, [BIN, 'logs', '-f', '--lines', '0', '--config', FIXTURE_CONFIG], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.add(follower, (c) => c.kill('SIGKILL'));
    let followed = '';
    let note = '';
    follower.stdout.setEncoding('utf8').on('data', (d: string) => (followed += d));
    follower.stderr.setEncoding('utf8').on('data', (d: string) => (note += d));
    await until(() => note.includes('following'), 10000, 'the follower to start');
    await ask(port, 'print before rotation');
    await until(() => followed.includes('"msg":"before rotation"'), 5000, 'the follower sees the first line');

    fs.renameSync(file, `${file}.1`); // what logrotate does
    await ask(port, 'print between move and reopen'); // still written to the moved file
    const reopen = await beyod(['logs', '--reopen'], env);
    expect(reopen.code).toBe(0);
    expect(reopen.stderr).toMatch(/reopened .*beyod\.log/);
    await ask(port, 'print after rotation');
    await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('"msg":"after rotation"'), 5000, 'the new file');
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toMatch(/"msg":"between move and reopen"/);
    expect(fs.readFileSync(`${file}.1`, 'utf8')).not.toMatch(/after rotation/);
    // (like tail -F, a follower that polls cannot see a file that lived less than one poll)
    await until(() => followed.includes('"msg":"after rotation"'), 5000, 'the follower sees the new file');

    fs.renameSync(file, `${file}.2`);
    process.kill(pid, 'SIGUSR2'); // the signal does the same
    await until(() => fs.existsSync(file), 5000, 'the file reopened on SIGUSR2');
    await ask(port, 'print after the second rotation');
    await until(() => followed.includes('after the second rotation'), 5000, 'the follower sees the line written after the second rotation');
    const msgs = followed
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    const order = ['before rotation', 'between move and reopen', 'after rotation', 'after the second rotation'];
    expect(msgs.filter((m) => order.includes(m))).toEqual(order); // each once, in order
    expect(fs.readFileSync(`${file}.2`, 'utf8')).not.toMatch(/after the second rotation/);
  });

  it('`beyod logs` names where the log goes when the server writes to its stdout; --lines refuses nonsense', async () => {
    const { env } = await startFixture(cleanup, { BEYOD_TEST_WORKERS: '1' });
    const r = await beyod(['logs'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/runs in the foreground and logs to its standard output, not to a file/);
    const bad = await beyod(['logs', '--lines', '-3'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--lines: expected an integer >= 0/);
  });
});
