import * as fs from 'node:fs';
import * as path from 'node:path';
import { gpidOf } from '@beyod/core';
import { Cleanup, until } from 'test-helpers';
import { alive, ask, beyod, portOf, startBeyod, startFixture, status, testEnv } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const start = (extra: Record<string, string> = {}, args: string[] = []) => startFixture(cleanup, extra, args);

describe('master and workers', () => {
  it('forks 4 workers with ids 1..4 and GPID = (serverId << 16) + workerId', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '4', BEYOD_TEST_SERVER_ID: '174' });
    const s = await status(env);
    expect(s.serverId).toBe(174);
    expect(s.master.pid).toBe(run.pid);
    expect(s.workers.map((w) => w.workerId)).toEqual([1, 2, 3, 4]);
    expect(s.workers.map((w) => w.gpid)).toEqual([1, 2, 3, 4].map((id) => gpidOf(174, id)));
    expect(new Set(s.workers.map((w) => w.pid)).size).toBe(4);
    expect(s.workers.every((w) => w.state === 'ready' && w.pid !== run.pid)).toBe(true);
    // each worker answers with its own id and GPID
    const port = portOf(s);
    const seen = new Map<string, string>();
    for (let i = 0; i < 40 && seen.size < 4; i++) {
      const [id, gpid, pid] = (await ask(port, 'who')).split(' ');
      seen.set(id!, `${gpid} ${pid}`);
    }
    for (const w of s.workers) expect(seen.get(String(w.workerId))).toBe(`${w.gpid} ${w.pid}`);
    // logs carry serverId, workerId, gpid and pid
    const line = await run.waitLog((l) => l.event === 'worker-start' && l.workerId === 2);
    expect(line).toMatchObject({ serverId: 174, workerId: 2, gpid: gpidOf(174, 2), pid: s.workers[1]!.pid });
  });

  it('a worker killed with SIGKILL comes back with the same id and GPID; the others are untouched', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '3' });
    const before = await status(env);
    const victim = before.workers[1]!;
    process.kill(victim.pid, 'SIGKILL');
    const after = await until(
      async () => {
        const s = await status(env);
        const w = s.workers[1]!;
        return w.pid !== victim.pid && w.state === 'ready' ? s : undefined;
      },
      10000,
      'the respawned worker',
    );
    expect(after.workers[1]).toMatchObject({ workerId: victim.workerId, gpid: victim.gpid, respawns: 1 });
    expect(after.workers[0]!.pid).toBe(before.workers[0]!.pid);
    expect(after.workers[2]!.pid).toBe(before.workers[2]!.pid);
    expect(alive(victim.pid)).toBe(false);
    const log = await run.waitLog((l) => l.workerId === 2 && l.newPid === after.workers[1]!.pid);
    expect(log).toMatchObject({ oldPid: victim.pid });
    expect(run.logs().find((l) => l.workerId === 2 && l.signal === 'SIGKILL')).toMatchObject({ oldPid: victim.pid });
    const [id] = (await ask(portOf(after), 'x')).split(' ');
    expect(['1', '2', '3']).toContain(id);
  });

  it('a crash loop backs off, and the worker settles once the cause is gone', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '2' });
    const first = await status(env);
    fs.writeFileSync(path.join(runtime, 'crash-2'), '');
    process.kill(first.workers[1]!.pid, 'SIGKILL');
    // wait for four "re-forking in N ms" lines for worker 2
    const delays = await until(
      () => {
        const d = run
          .logs()
          .filter((l) => l.workerId === 2 && typeof l.delay === 'number')
          .map((l) => l.delay as number);
        return d.length >= 4 ? d : undefined;
      },
      20000,
      'four respawns',
    );
    // the first death or two are re-forked at once; then the delay doubles each time
    const growing = delays.filter((d) => d > 0);
    expect(growing[0]).toBe(250);
    for (let i = 1; i < growing.length; i++) expect(growing[i]).toBe(Math.min(growing[i - 1]! * 2, 15000));
    expect(delays.indexOf(250)).toBeLessThanOrEqual(2);
    fs.rmSync(path.join(runtime, 'crash-2'));
    const settled = await until(
      async () => {
        const s = await status(env);
        const w = s.workers[1]!;
        return w.state === 'ready' && w.uptime > 2500 ? s : undefined;
      },
      20000,
      'worker 2 to stay up',
    );
    expect(settled.workers[1]!.respawns).toBeGreaterThanOrEqual(4);
    expect(settled.workers[0]!.pid).toBe(first.workers[0]!.pid);
  });

  it('reload under load: every worker replaced (same ids), zero failed requests', async () => {
    const { env } = await start({ BEYOD_TEST_WORKERS: '2', BEYOD_TEST_STOP_TIMEOUT: '1' });
    const before = await status(env);
    const port = portOf(before);
    let ok = 0;
    const failures: string[] = [];
    let loading = true;
    const client = async () => {
      while (loading) {
        try {
          const answer = await ask(port, 'ping');
          if (!answer.endsWith(' ping')) failures.push(`bad answer ${answer}`);
          else ok++;
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    await until(() => ok > 20, 5000, 'load running');
    const okBefore = ok;
    const r = await beyod(['reload'], env, 60000);
    const okDuring = ok - okBefore;
    await until(() => ok > okBefore + okDuring + 20, 5000, 'load after the reload');
    loading = false;
    await Promise.all(clients);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/reloaded 2 workers/);
    const after = await status(env);
    expect(after.workers.map((w) => w.workerId)).toEqual([1, 2]);
    expect(after.workers.map((w) => w.gpid)).toEqual(before.workers.map((w) => w.gpid));
    for (let i = 0; i < 2; i++) expect(after.workers[i]!.pid).not.toBe(before.workers[i]!.pid);
    expect(failures).toEqual([]);
    expect(okDuring).toBeGreaterThan(0);
  });

  it('SIGUSR1 reloads too', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '1' });
    const before = await status(env);
    process.kill(run.pid, 'SIGUSR1');
    await run.waitLog((l) => l.msg === 'reload done');
    const after = await status(env);
    expect(after.workers[0]!.pid).not.toBe(before.workers[0]!.pid);
  });

  it('stop: master and workers are gone and the pid file is removed', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '2' });
    const s = await status(env);
    const pidFile = path.join(runtime, 'beyod.pid');
    expect(fs.readFileSync(pidFile, 'utf8').trim()).toBe(String(run.pid));
    const r = await beyod(['stop'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(`stopped (pid ${run.pid})`);
    expect(await run.exited).toBe(0);
    for (const w of s.workers) await until(() => !alive(w.pid), 5000, `worker ${w.pid} gone`);
    expect(fs.existsSync(pidFile)).toBe(false);
    const again = await beyod(['status'], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not running/);
  });

  it('SIGTERM to the master stops gracefully: an open connection is served until stopTimeout, then closed', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_STOP_TIMEOUT: '1' });
    const port = portOf(await status(env));
    const net = await import('node:net');
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
    sock.on('error', () => {});
    const t0 = Date.now();
    process.kill(run.pid, 'SIGTERM');
    // still served while draining
    const answer = await new Promise<string>((resolve) => {
      sock.once('data', (d) => resolve(String(d)));
      sock.write('during stop\n');
    });
    expect(answer).toMatch(/ during stop\n$/);
    const closedAt = await closed;
    expect(closedAt - t0).toBeGreaterThanOrEqual(900);
    expect(await run.exited).toBe(0);
  });

  it('workers stop by themselves when the master is killed', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '2' });
    const s = await status(env);
    process.kill(run.pid, 'SIGKILL');
    for (const w of s.workers) await until(() => !alive(w.pid), 10000, `worker ${w.workerId} gone`);
  });

  it('a second start on the same pid file is refused; a stale pid file is replaced', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '1' });
    const second = await beyod(['start'], env);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(`already running: pid ${run.pid}`);
    await beyod(['stop'], env);
    await run.exited;
    // a pid file naming a dead process
    fs.writeFileSync(path.join(runtime, 'beyod.pid'), '999999\n');
    const st = await beyod(['status'], env);
    expect(st.code).not.toBe(0);
    expect(st.stderr).toMatch(/stale pid file/);
    fs.writeFileSync(path.join(runtime, 'beyod.pid'), '999999\n');
    const third = startBeyod([], env);
    cleanup.add(third, (r) => r.kill());
    await third.waitStarted();
    expect(third.logs().some((l) => l.stalePid === 999999)).toBe(true);
  });

  it('maxRequests: a worker is replaced gracefully after handling that many messages', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_MAX_REQUESTS: '5' });
    const before = await status(env);
    const port = portOf(before);
    for (let i = 0; i < 5; i++) await ask(port, `m${i}`);
    await run.waitLog((l) => typeof l.msg === 'string' && (l.msg as string).includes('maxRequests 5'));
    const after = await until(async () => {
      const s = await status(env);
      return s.workers[0]!.pid !== before.workers[0]!.pid && s.workers[0]!.state === 'ready' ? s : undefined;
    }, 10000);
    expect(after.workers[0]!.workerId).toBe(1);
    expect(await ask(port, 'after')).toMatch(/^1 \d+ \d+ \d+ after$/);
  });

  it('maxMemory: a worker over it is replaced (same id)', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_MAX_MEMORY: '1' });
    const first = await status(env);
    await run.waitLog((l) => typeof l.msg === 'string' && (l.msg as string).includes('(maxMemory 1)'));
    const after = await until(async () => {
      const s = await status(env);
      return s.workers[0]!.pid !== first.workers[0]!.pid ? s : undefined;
    }, 10000);
    expect(after.workers[0]!.workerId).toBe(1);
  });

  it('a compiled JavaScript config works without the TypeScript loader', async () => {
    const { runtime, env } = testEnv();
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const config = path.resolve(__dirname, 'fixtures/js-app/config/main.js');
    const run = startBeyod(['--single'], env, config);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    const s = await status(env, config);
    expect(s.id).toBe('js-fixture');
    expect(await ask(portOf(s), 'quiet please')).toBe('QUIET PLEASE');
  });

  it('restart replaces the master; status --watch keeps printing', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const first = await beyod(['start', '--daemon'], env);
    expect(first.code).toBe(0);
    const pid1 = Number(/pid (\d+)/.exec(first.stderr)![1]);
    cleanup.defer(() => alive(pid1) && process.kill(pid1, 'SIGKILL'));
    const r = await beyod(['restart', '--daemon'], env);
    expect(r.code).toBe(0);
    const pid2 = Number(/started in the background, pid (\d+)/.exec(r.stderr)![1]);
    cleanup.defer(() => alive(pid2) && process.kill(pid2, 'SIGKILL'));
    expect(pid2).not.toBe(pid1);
    expect(alive(pid1)).toBe(false);
    expect((await status(env)).master.pid).toBe(pid2);
    const { spawn } = await import('node:child_process');
    const { BIN, FIXTURE_CONFIG } = await import('./harness');
    const watch = spawn(process.execPath, [BIN, 'status', '--watch', '--config', FIXTURE_CONFIG], { env });
    cleanup.add(watch, (w) => w.kill('SIGKILL'));
    let out = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await until(() => (out.match(/refreshing every second/g) ?? []).length >= 2, 5000, 'two refreshes');
    expect(out).toMatch(`master pid ${pid2}`);
    expect((await beyod(['stop'], env)).code).toBe(0);
  });

  it('status (table) and connections list what runs', async () => {
    const { env } = await start({ BEYOD_TEST_WORKERS: '2' });
    const port = portOf(await status(env));
    const net = await import('node:net');
    const sock = net.connect(port, '127.0.0.1');
    cleanup.add(sock, (s) => s.destroy());
    await new Promise((r) => sock.once('connect', r));
    sock.write('hello\n');
    await new Promise((r) => sock.once('data', r));
    const table = await beyod(['status'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/worker\s+pid\s+gpid\s+state\s+uptime\s+memory\s+conns\s+share/);
    expect(table.stdout).toMatch(/total: 1 connections/);
    const list = await beyod(['connections', '--json'], env);
    const conns = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(conns).toHaveLength(1);
    expect(conns[0]).toMatchObject({
      listener: 'who',
      protocol: 'tcp/text',
      peer: `127.0.0.1:${sock.localPort}`,
      messagesIn: 1,
      messagesOut: 1,
    });
    const human = await beyod(['connections'], env);
    expect(human.stdout).toMatch(/1 connection$/m);
  });

  it('--single runs one worker in the CLI process; status and stop work', async () => {
    const { run, env } = await start({}, ['--single']);
    const s = await status(env);
    expect(s.singleProcess).toBe(true);
    expect(s.workers).toHaveLength(1);
    expect(s.workers[0]!.pid).toBe(run.pid);
    expect(await ask(portOf(s), 'hi')).toMatch(new RegExp(`^1 ${gpidOf(3, 1)} ${run.pid} `));
    const r = await beyod(['reload'], env);
    expect(r.stderr).toMatch(/not available in single-process mode/);
    expect((await beyod(['stop'], env)).code).toBe(0);
    expect(await run.exited).toBe(0);
  });

  it('--daemon detaches and logs to the logFile', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '1' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const r = await beyod(['start', '--daemon'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/started in the background, pid (\d+)/);
    const pid = Number(/pid (\d+)/.exec(r.stderr)![1]);
    cleanup.defer(() => alive(pid) && process.kill(pid, 'SIGKILL'));
    const s = await status(env);
    expect(s.master.pid).toBe(pid);
    expect(fs.readFileSync(path.join(runtime, 'beyod.log'), 'utf8')).toMatch(/"msg":"master started"/);
    expect((await beyod(['stop'], env)).code).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it('BEYOD_ENV merges config/<env>/main.ts over the base config', async () => {
    const { env } = await start({ BEYOD_ENV: 'test', BEYOD_TEST_WORKERS: '1' });
    const s = await status(env);
    expect(s.serverId).toBe(4242);
    expect(s.workers[0]!.gpid).toBe(gpidOf(4242, 1));
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('user: workers started as root drop to that user after binding', async () => {
    const { runtime, env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_USER: 'nobody' });
    fs.chmodSync(runtime, 0o755);
    const s = await status(env);
    const nobody = Number((await import('node:child_process')).execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const [, , , uid] = (await ask(portOf(s), 'uid')).split(' ');
    expect(Number(uid)).toBe(nobody);
  });
});

describe('the CLI refuses clearly', () => {
  it('no config found', async () => {
    const { env } = testEnv();
    const r = await beyod(['start', '--config', '/nonexistent/config/main.ts'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch('beyod: no config file at /nonexistent/config/main.ts');
    const dir = await beyod(['start', '--config', '/nonexistent'], env);
    expect(dir.stderr).toMatch('beyod: no config file at /nonexistent');
    // status needs no config: it looks for the control socket where the app would keep it
    const st = await beyod(['status', '--config', '/nonexistent/config/main.ts'], env);
    expect(st.code).toBe(1);
    expect(st.stderr).toMatch('beyod: not running (nothing answers on /nonexistent/runtime/beyod.ctl/control.sock');
  });

  it('an invalid config names the key and the file', async () => {
    const { env } = testEnv({ BEYOD_TEST_WORKERS: 'many' });
    const r = await beyod(['start'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/config\/main\.ts: components\.server\.workerNum: expected an integer 1\.\.65535, got NaN/);
  });

  it('an invalid listen URL names the key', async () => {
    const { env } = testEnv({ BEYOD_TEST_LISTEN: 'tcp://127.0.0.1' });
    const r = await beyod(['start'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/components\.server\.listeners\.who\.listen: invalid socket URL "tcp:\/\/127\.0\.0\.1"/);
  });

  it('a port in use stops start with a clear message, and leaves nothing behind', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanup.add(blocker, (b) => b.close());
    const port = (blocker.address() as { port: number }).port;
    const { runtime, env } = testEnv({ BEYOD_TEST_LISTEN: `tcp://127.0.0.1:${port}` });
    const r = await beyod(['start'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      `components.server.listeners.who.listen: listener 'who' cannot listen on tcp://127.0.0.1:${port}: the address is already in use`,
    );
    expect(fs.existsSync(path.join(runtime, 'beyod.pid'))).toBe(false);
  });

  it('a worker that fails in onWorkerStart fails the start', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '2' });
    fs.mkdirSync(runtime, { recursive: true });
    fs.writeFileSync(path.join(runtime, 'fail-2'), '');
    const r = await beyod(['start'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch('worker 2 failed to start: worker 2 was told to fail');
  });

  it('stop, reload and status when not running', async () => {
    const { env } = testEnv();
    for (const cmd of ['stop', 'reload', 'status', 'connections']) {
      const r = await beyod([cmd], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/not running/);
    }
  });

  it('--help and --version', async () => {
    const { env } = testEnv();
    const help = await beyod(['--help'], env);
    expect(help.code).toBe(0);
    for (const cmd of ['start', 'stop', 'reload', 'restart', 'status', 'connections']) expect(help.stdout).toMatch(`beyod ${cmd}`);
    const v = await beyod(['--version'], env);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const bad = await beyod(['frobnicate'], env);
    expect(bad.code).not.toBe(0);
  });
});
