/* The control plane as an attacker and a hurried user meet it: other users, pid files, flags. */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type StatusReport, controlRequest, controlSocketPath } from '@beyod/core';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { BIN, Running, alive, beyod, startBeyod, startFixture, status, testEnv } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('control.int.test: not root: the tests that act as a second user (nobody) are skipped');
const asRoot = isRoot ? it : it.skip;

const start = (extra: Record<string, string> = {}, args: string[] = []) => startFixture(cleanup, extra, args);

/**
 * As user nobody, send {"cmd":"stop"} to every address the control socket of `pidFile` has had:
 * beside the pid file, in its control directory (through the directory when the path is long),
 * and the abstract-namespace name older versions fell back to. Resolves with what happened.
 */
function stopAsNobody(pidFile: string): Promise<Array<{ address: string; result: string }>> {
  const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const nogroup = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  const addresses = [
    pidFile.replace(/\.pid$/, '') + '.sock',
    controlSocketPath(pidFile),
    `\0beyod-${createHash('sha1').update(pidFile).digest('hex').slice(0, 20)}`,
  ];
  const script = `
    const net = require('net'), fs = require('fs'), path = require('path');
    const tryOne = (address) => new Promise((resolve) => {
      let target = address;
      if (!address.startsWith('\\0') && Buffer.byteLength(address) > 107) {
        try { target = '/proc/self/fd/' + fs.openSync(path.dirname(address), 'r') + '/' + path.basename(address); }
        catch (e) { return resolve({ address, result: e.code }); }
      }
      const s = net.connect(target);
      s.on('connect', () => s.write('{"cmd":"stop"}\\n'));
      s.on('data', (d) => { s.destroy(); resolve({ address, result: 'answered ' + String(d).trim() }); });
      s.on('error', (e) => resolve({ address, result: e.code }));
    });
    Promise.all(${JSON.stringify(addresses)}.map(tryOne)).then((r) => process.stdout.write(JSON.stringify(r)));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { uid: nobody, gid: nogroup, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as Array<{ address: string; result: string }>);
      } catch {
        reject(new Error(`the nobody client failed: ${err}`));
      }
    });
  });
}

describe('the control socket belongs to its owner', () => {
  asRoot('another user cannot reach it, even when the pid-file path is too long for a unix socket', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    // a directory anyone may traverse, and a pid-file path longer than a socket path may be
    const dir = path.join(runtime, 'a-rather-long-directory-name-'.repeat(4));
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(runtime, 0o755);
    const pidFile = path.join(dir, 'beyod.pid');
    expect(Buffer.byteLength(pidFile)).toBeGreaterThan(107);
    const run = startBeyod(['--pid-file', pidFile], env);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    const attempts = await stopAsNobody(pidFile);
    for (const a of attempts) expect(a.result).not.toMatch(/^answered/);
    expect((await status(env, undefined, ['--pid-file', pidFile])).master.pid).toBe(run.pid);
    expect(run.exitCode).toBeUndefined();
  });

  asRoot('nor with a short path in a directory everyone can enter', async () => {
    const { run, runtime } = await start({ BEYOD_TEST_WORKERS: '1' });
    fs.chmodSync(runtime, 0o755);
    const attempts = await stopAsNobody(path.join(runtime, 'beyod.pid'));
    for (const a of attempts) expect(a.result).not.toMatch(/^answered/);
    expect(alive(run.pid)).toBe(true);
  });

  it('lives in a 0700 directory and is created 0600, whatever the umask', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const child = spawn(
      'sh',
      ['-c', `umask 000; exec "${process.execPath}" "${BIN}" start --config "${path.resolve(__dirname, 'fixtures/app')}"`],
      {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const run = new Running(child);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    const socket = controlSocketPath(path.join(runtime, 'beyod.pid'));
    expect(fs.statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
  });

  asRoot('a control directory that another user owns is refused', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const dir = path.dirname(controlSocketPath(path.join(runtime, 'beyod.pid')));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, nobody, nobody);
    const r = await beyod(['start'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`the control directory ${dir} is owned by uid ${nobody}, not by us (uid 0)`);
  });
});

describe('the pid file is not a proof', () => {
  /** A live process that has nothing to do with beyod, as a pid that was reused. */
  function stranger(): number {
    const s = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup.add(s, (p) => p.kill('SIGKILL'));
    return s.pid!;
  }

  it('start runs when the pid file names a live process that is not this server', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const pid = stranger();
    fs.mkdirSync(runtime, { recursive: true });
    fs.writeFileSync(path.join(runtime, 'beyod.pid'), `${pid}\n`);
    const run = startBeyod([], env);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    expect(run.logs().some((l) => l.stalePid === pid)).toBe(true);
    expect(fs.readFileSync(path.join(runtime, 'beyod.pid'), 'utf8').trim()).toBe(String(run.pid));
    expect(alive(pid)).toBe(true);
  });

  it('stop and status never signal a pid that did not answer on the control socket', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const pid = stranger();
    fs.mkdirSync(runtime, { recursive: true });
    fs.writeFileSync(path.join(runtime, 'beyod.pid'), `${pid}\n`);
    for (const cmd of ['stop', 'status', 'reload', 'connections']) {
      const r = await beyod([cmd], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/stale pid file/);
      expect(r.stderr).toMatch(`names pid ${pid}`);
    }
    expect(alive(pid)).toBe(true);
  });

  it('concurrent starts on one pid file: exactly one wins, and the losers leave its pid file and socket alone', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    fs.mkdirSync(runtime, { recursive: true });
    for (let round = 0; round < 2; round++) {
      fs.writeFileSync(path.join(runtime, 'beyod.pid'), '999999\n'); // stale: every start takes it over
      const runs = Array.from({ length: 5 }, () => {
        const r = startBeyod([], env);
        cleanup.add(r, (x) => x.kill());
        return r;
      });
      await until(() => runs.every((r) => /started/.test(r.stderr) || r.exitCode !== undefined), 40000, 'every start decided');
      const winners = runs.filter((r) => /started/.test(r.stderr));
      expect(winners).toHaveLength(1);
      for (const r of runs) if (r !== winners[0]) expect(r.stderr).toMatch(/already running/);
      const winner = winners[0]!;
      await Promise.all(runs.filter((r) => r !== winner).map((r) => r.exited));
      expect(fs.readFileSync(path.join(runtime, 'beyod.pid'), 'utf8').trim()).toBe(String(winner.pid));
      const s = await controlRequest<StatusReport>(controlSocketPath(path.join(runtime, 'beyod.pid')), { cmd: 'status' });
      expect(s.master.pid).toBe(winner.pid);
      expect((await beyod(['stop'], env)).code).toBe(0);
      await winner.exited;
    }
  });
});

describe('the CLI does not trap its user', () => {
  it('an unknown flag is fatal: exit 2, nothing run', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '1' });
    const before = await controlRequest<StatusReport>(controlSocketPath(path.join(runtime, 'beyod.pid')), { cmd: 'status' });
    const r = await beyod(['reload', '--gracefull'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: gracefull/);
    const st = await beyod(['status', '--jsno'], env);
    expect(st.code).toBe(2);
    expect(st.stdout).toBe('');
    const stop = await beyod(['stop', '--now'], env);
    expect(stop.code).toBe(2);
    const after = await controlRequest<StatusReport>(controlSocketPath(path.join(runtime, 'beyod.pid')), { cmd: 'status' });
    expect(after.workers[0]!.pid).toBe(before.workers[0]!.pid);
    expect(run.logs().some((l) => l.msg === 'rolling reload')).toBe(false);
    expect(alive(run.pid)).toBe(true);
  });

  /** A throw-away app with its own app/ and config/, started from its directory. */
  function makeApp(): { dir: string; env: NodeJS.ProcessEnv; handler: string } {
    const dir = tmpDir('beyod-app-');
    cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'config'));
    fs.mkdirSync(path.join(dir, 'app'));
    const handler = path.join(dir, 'app', 'Echo.ts');
    fs.writeFileSync(
      handler,
      `import { Handler, type MessageEvent } from '@beyod/core';\nexport class Echo extends Handler {\n  override onMessage(e: MessageEvent<string>) { e.sender.send(e.message); }\n}\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'config', 'main.ts'),
      `import { defineConfig } from '@beyod/core';\nimport { text } from '@beyod/protocols';\nimport { Echo } from '../app/Echo';\n` +
        `export default defineConfig({ id: 'tmp-app', components: { server: { workerNum: 1, listeners: { echo: { listen: 'tcp://127.0.0.1:0', parser: text.Parser, handler: Echo } } } } });\n`,
    );
    const env = { ...process.env, NODE_PATH: path.resolve(__dirname, '../../../node_modules'), BEYOD_LOG_LEVEL: 'info' };
    return { dir, env, handler };
  }

  it('stop, status and connections work with a syntax error in the app, from the control socket alone; --config takes the app directory', async () => {
    const { dir, env, handler } = makeApp();
    const run = startBeyod([], env, dir);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    fs.appendFileSync(handler, 'export const broken: number = ;\n');
    const st = await beyod(['status', '--json', '--config', dir], env);
    expect(st.stderr).toBe('');
    expect((JSON.parse(st.stdout) as StatusReport).master.pid).toBe(run.pid);
    const conns = await beyod(['connections', '--config', path.join(dir, 'config')], env);
    expect(conns.code).toBe(0);
    // from inside the app directory, with no option at all
    const child = spawn(process.execPath, [BIN, 'stop'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    expect(err).toMatch(`stopped (pid ${run.pid})`);
    expect(await run.exited).toBe(0);
  });

  it('a compile error prints the code frame, not swc’s native backtrace', async () => {
    const { dir, env, handler } = makeApp();
    fs.appendFileSync(handler, 'export const broken: number = ;\n');
    const r = await beyod(['start', '--config', dir], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(`TypeScript error in ${handler}`);
    expect(r.stderr).toMatch(/Expression expected/);
    expect(r.stderr).toMatch(/export const broken: number = ;/);
    expect(r.stderr).not.toMatch(/Stack backtrace|Caused by|<unknown>|v8impl/);
  });

  it('a class-valued key that is undefined (a misspelt import) is refused with its key path', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_PARSER_TYPO: '1', BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const r = await beyod(['start'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /config\/main\.ts: components\.server\.listeners\.who\.parser: is undefined, expected a class \(a misspelt or missing import\/export\?\)/,
    );
    expect(fs.existsSync(path.join(runtime, 'beyod.pid'))).toBe(false);
  });

  it('a handler-level config error is one line, checked before any worker is forked', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_BAD_HANDLER: '1', BEYOD_TEST_WORKERS: '2' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const r = await beyod(['start'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^beyod: .*config\/main\.ts: components\.server\.listeners\.who\.handler\.nosuch: unknown property 'nosuch' of WhoHandler/,
      ),
    ]);
    expect(r.stdout).toBe('');
  });
});
